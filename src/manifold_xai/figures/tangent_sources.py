"""Figures of the tangent-source stage (``workflow/rules/tangent_sources.smk``): the mean fraction per
method under each tangent source, principal angles to the dataset's own tangent spaces, and the
per-image intrinsic dimension."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    add_note,
    method_label,
    plt,
    save,
)
from manifold_xai.tangent import registry as tangent_registry

SOURCE_COLORS = {name: source.colour for name, source in tangent_registry.SOURCES.items()}


SOURCE_LABELS = {name: source.label for name, source in tangent_registry.SOURCES.items()}


def tangent_sources_figure(
    means: dict[str, dict[str, tuple[float, float, float]]],
    baselines: dict[str, float],
    angles: dict[str, np.ndarray],
    reference: str,
    title: str,
    path,
    *,
    dimensions: dict[str, tuple[np.ndarray, int]] | None = None,
    dpi: int = 150,
    note: str = "",
) -> None:
    """Left: mean fraction in tangent space per method (groups) under each tangent source (bars), with
    95% CIs, ``means[source][method] = (mean, ci_low, ci_high)``, and each source's sqrt(k/d) as a dashed
    line. Middle: histograms of the per-image mean (filled) and largest (outline) principal angle
    (degrees) between each source's tangent space and the reference's, ``angles[source] = (mean (n,),
    largest (n,))``. Right (with ``dimensions[source] = (per-image dimension (n,) int, store k)``): how
    many test images have each tangent-space dimension, per source, the store's k marked."""
    panels = 3 if dimensions else 2
    fig, axes = plt.subplots(
        1,
        panels,
        figsize=(10.5 + 3.5 * (panels - 2), 3.8),
        gridspec_kw={"width_ratios": [1.4, 1, 1][:panels]},
    )
    left, right = axes[0], axes[1]
    sources = list(means)
    methods = list(next(iter(means.values())))
    width = 0.8 / len(sources)
    x = np.arange(len(methods))
    for i, source in enumerate(sources):
        m = np.array([means[source][meth][0] for meth in methods])
        err = np.array(
            [
                [m[j] - means[source][meth][1], means[source][meth][2] - m[j]]
                for j, meth in enumerate(methods)
            ]
        ).T
        pos = x - 0.4 + width * (i + 0.5)
        left.bar(
            pos,
            m,
            width,
            yerr=np.nan_to_num(err),
            capsize=2,
            color=SOURCE_COLORS.get(source),
            alpha=0.8,
            label=SOURCE_LABELS.get(source, source),
        )
        left.hlines(
            baselines[source],
            pos[0] - width / 2,
            pos[-1] + width / 2,
            colors=SOURCE_COLORS.get(source),
            linestyles="--",
            lw=1,
        )
    left.set_xticks(x, [method_label(m) for m in methods], fontsize=8, rotation=25, ha="right")
    left.set(ylabel="Mean fraction (bars: 95% CI over test images)", ylim=(0, 1), title=title)
    left.legend(
        fontsize=7, frameon=False, title="tangent source (dashed: sqrt(k/d))", title_fontsize=7
    )
    bins = np.linspace(0, 90, 46)
    for source, (mean_angle, largest) in angles.items():
        mean_angle = np.asarray(mean_angle)[np.isfinite(mean_angle)]
        largest = np.asarray(largest)[np.isfinite(largest)]
        label = SOURCE_LABELS.get(source, source)
        right.hist(
            mean_angle,
            bins=bins,
            alpha=0.5,
            color=SOURCE_COLORS.get(source),
            label=f"{label}: mean angle (avg {mean_angle.mean():.1f}°)",
        )
        right.hist(
            largest,
            bins=bins,
            histtype="step",
            lw=1.5,
            color=SOURCE_COLORS.get(source),
            label=f"{label}: largest angle (avg {largest.mean():.1f}°)",
        )
    right.set(
        xlabel=f"Principal angles to the {SOURCE_LABELS.get(reference, reference)} tangent space (°)",
        ylabel="Test images",
        xlim=(0, 90),
    )
    right.legend(fontsize=7, frameon=False)
    add_note(right, note)
    if dimensions:
        _dimension_panel(axes[2], dimensions)
    fig.tight_layout()
    save(fig, path, dpi)


def _dimension_panel(ax, dimensions: dict[str, tuple[np.ndarray, int]]) -> None:
    """Bars: test images per tangent-space dimension for each source; a dotted line at each store's k."""
    top = max([int(np.max(r, initial=0)) for r, _ in dimensions.values()] + [1])
    values = np.arange(0, top + 1)
    width = 0.8 / len(dimensions)
    for i, (source, (rank, k)) in enumerate(dimensions.items()):
        rank = np.asarray(rank, np.int64)
        counts = np.bincount(rank, minlength=top + 1)
        colour = SOURCE_COLORS.get(source)
        ax.bar(
            values - 0.4 + width * (i + 0.5),
            counts,
            width,
            color=colour,
            alpha=0.8,
            label=f"{SOURCE_LABELS.get(source, source)} (mean {rank.mean():.1f}, k = {k})",
        )
        ax.axvline(k, color=colour, ls=":", lw=1)
    ax.set(
        xlabel="Dimension of the tangent space at the image",
        ylabel="Test images",
        title="Intrinsic dimension per image (dotted: each source's k)",
    )
    ax.title.set_fontsize(9)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, frameon=False)
