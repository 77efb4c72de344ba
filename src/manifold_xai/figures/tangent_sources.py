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
    methods = list(next(iter(means.values()))) if means else []
    if not means:
        left.text(0.5, 0.5, "no classifier: tangent spaces only", ha="center", va="center")
        left.set_axis_off()
    width = 0.8 / max(len(sources), 1)
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
    if means:
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
    """Bars: test images per tangent-space dimension for each source (NaN: a spectrum rule could not
    decide, counted in an "undecided" bar past the largest dimension); a dotted line at each store's
    k."""
    decided = [np.asarray(r, np.float64) for r, _ in dimensions.values()]
    top = max([int(np.nanmax(r, initial=0)) if np.isfinite(r).any() else 0 for r in decided] + [1])
    values = np.arange(0, top + 2)
    width = 0.8 / len(dimensions)
    for i, (source, (rank, k)) in enumerate(dimensions.items()):
        rank = np.asarray(rank, np.float64)
        known = rank[np.isfinite(rank)].astype(np.int64)
        counts = np.r_[np.bincount(known, minlength=top + 1), len(rank) - len(known)]
        colour = SOURCE_COLORS.get(source)
        mean = f"mean {known.mean():.1f}" if len(known) else "none decided"
        ax.bar(
            values - 0.4 + width * (i + 0.5),
            counts,
            width,
            color=colour,
            alpha=0.8,
            label=f"{SOURCE_LABELS.get(source, source)} ({mean}, k = {k})",
        )
        ax.axvline(k, color=colour, ls=":", lw=1)
    ax.set_xticks(values, [str(v) for v in values[:-1]] + ["undecided"], fontsize=7)
    ax.set(
        xlabel="Dimension of the tangent space at the image",
        ylabel="Test images",
        title="Intrinsic dimension per image (dotted: each source's k)",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, frameon=False)


def intrinsic_dimension_figure(table, path, *, dpi: int = 150) -> None:
    """Estimated against true dimension across datasets (``results/summary/intrinsic_dimension.csv``
    rows: ``dataset, seed, source, true_dimension, dimension_median, dimension_q25, dimension_q75,
    share_within_1, n_decided, n``): per estimating source (the spectrum rules and Levina-Bickel; the
    fixed-k sources are not estimates and are left out) the median over seeds of each dataset's median,
    bars from the lowest first quartile to the highest third quartile over seeds; the diagonal is a
    perfect estimate, a hollow marker a dataset where fewer than half the images were decided. Right:
    the share of images within ±1 of the truth, 0.8 dashed (the target)."""
    estimated = table[~table["rule"].astype(str).str.startswith("fixed")]
    estimated = estimated[estimated["source"] != estimated["reference"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    sources = list(dict.fromkeys(estimated["source"]))
    truths = sorted(estimated["true_dimension"].dropna().unique())
    top = max([1.0] + truths + list(estimated["dimension_q75"].dropna()))
    width = 0.6 / max(len(sources), 1)
    for i, source in enumerate(sources):
        rows = estimated[estimated["source"] == source]
        colour = SOURCE_COLORS.get(source, "tab:gray" if source == "levina_bickel" else None)
        label = SOURCE_LABELS.get(
            source, "Levina-Bickel MLE" if source == "levina_bickel" else source
        )
        grouped = rows.groupby("true_dimension")
        x = np.array([t for t, _ in grouped]) + width * (i - (len(sources) - 1) / 2)
        median = np.array([g["dimension_median"].median() for _, g in grouped])
        low = np.array([g["dimension_q25"].min() for _, g in grouped])
        high = np.array([g["dimension_q75"].max() for _, g in grouped])
        decided = np.array([(g["n_decided"] / g["n"]).mean() >= 0.5 for _, g in grouped])
        left.errorbar(
            x,
            median,
            yerr=np.nan_to_num([median - low, high - median]),
            fmt="none",
            ecolor=colour,
            lw=1,
        )
        left.scatter(x[decided], median[decided], color=colour, label=label, zorder=3)
        left.scatter(x[~decided], median[~decided], facecolors="none", edgecolors=colour, zorder=3)
        within = np.array([g["share_within_1"].mean() for _, g in grouped])
        right.bar(x, within, width, color=colour, label=label)
    left.plot([0, top + 1], [0, top + 1], color="black", lw=0.8, ls=":")
    left.set(
        xlabel="True dimension m",
        ylabel="Estimated dimension (median; bars: quartiles)",
        title="Intrinsic dimension per image against the truth",
        xlim=(0, max(truths, default=1) + 1),
    )
    left.legend(fontsize=7, frameon=False)
    right.axhline(0.8, color="black", ls="--", lw=0.8)
    right.set(
        xlabel="True dimension m",
        ylabel="Share of images within ±1 (undecided: wrong)",
        ylim=(0, 1),
        title="How often the estimate is within ±1",
    )
    datasets = ", ".join(dict.fromkeys(table["dataset"]))
    add_note(right, f"datasets: {datasets}")
    fig.tight_layout()
    save(fig, path, dpi)
