"""Figures of the alignment stage (``workflow/rules/alignment.smk``): densities of the fraction in
tangent space.

- ``fig3_fraction_distributions``: Figure 3, one density per method with the random baseline sqrt(k/d)
  as a grey line; ``fig14_replications`` the same per seed (Figure 14).
- ``fig7_standard_vs_robust``: Figure 7, the gradient's fraction for standard vs l2-robust training.
- ``density_panels``: the multi-dataset Figures 3 and 7 (one density panel per dataset, as the paper).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import gaussian_kde

from manifold_xai.figures.style import (
    add_note,
    method_colour,
    method_label,
    plt,
    save,
)

LINE_STYLES = ("-", "--", "-.", ":")


POINT_MASS_SD = (
    1e-3  # a method whose fractions vary less than this is drawn as a line, not a density
)


def bounded_kde(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` in [0, 1] on ``grid``, reflected at 0 and 1 so that no mass
    leaks outside the interval and the density does not dip at the edges (it integrates to 1 on [0, 1])."""
    kde = gaussian_kde(values)
    return kde(grid) + kde(-grid) + kde(2.0 - grid)


def _density_panel(
    ax,
    fractions: dict[str, np.ndarray],
    baseline: float,
    title: str,
    *,
    colors: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    legend: str = "right",
) -> None:
    """Kernel densities of ``fractions[name] (n,)`` (NaN dropped; bounded to [0, 1]) with the baseline as
    a grey line; one line style per method so that overlapping curves stay visible. A method whose
    fractions are all (nearly) equal, e.g. a tangent projection (1 by construction), is a vertical line:
    its density would be a spike of arbitrary height."""
    colors, labels = colors or {}, labels or {}
    grid = np.linspace(0, 1, 501)
    for i, (name, values) in enumerate(fractions.items()):
        values = np.asarray(values)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        colour, ls = colors.get(name, method_colour(name)), LINE_STYLES[i % len(LINE_STYLES)]
        text = (
            f"{labels.get(name, method_label(name))} (mean {values.mean():.2f}, n = {len(values)})"
        )
        if len(values) < 2 or values.std() < POINT_MASS_SD:
            ax.axvline(values.mean(), color=colour, lw=2.5, ls=ls, label=f"{text}, all equal")
            continue
        ax.plot(grid, bounded_kde(values, grid), lw=2, ls=ls, color=colour, label=text)
    ax.axvline(
        baseline, color="gray", lw=1.5, ls=(0, (1, 1)), label=f"random sqrt(k/d) = {baseline:.3f}"
    )
    ax.set(xlim=(-0.01, 1.01), xlabel="Fraction in tangent space", ylabel="Density", title=title)
    ax.set_ylim(bottom=0)
    # outside the panel (``legend``: right of it, or below its x label for panels side by side): it
    # covers no curve, and no curve runs through it
    if legend == "right":
        ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    else:
        # anchored at the axes' bottom edge, padded (in font sizes) past the tick labels and x label
        ax.legend(
            fontsize=7,
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, 0),
            borderaxespad=4.5,
        )


def fig3_fraction_distributions(
    fractions: dict[str, np.ndarray],
    baseline: float,
    title: str,
    path,
    *,
    dpi: int = 150,
    note: str = "",
) -> None:
    """Figure 3: kernel density of the fraction in tangent space per method; ``fractions[method] (n,)``."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    _density_panel(ax, fractions, baseline, title)
    add_note(ax, note)
    save(fig, path, dpi)


def fig7_standard_vs_robust(
    standard: np.ndarray,
    robust: np.ndarray,
    baseline: float,
    title: str,
    path,
    *,
    dpi: int = 150,
    note: str = "",
) -> None:
    """Figure 7: density of the gradient's fraction for the standard and the l2-robust classifier
    (``(n,)`` each, pooled over seeds); robust in grey as in the paper."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    _density_panel(
        ax,
        {"standard": standard, "robust": robust},
        baseline,
        title,
        colors={"standard": "tab:blue", "robust": "tab:gray"},
        labels={"standard": "Standard gradient", "robust": "Robust gradient (l2-PGD)"},
    )
    add_note(ax, note)
    save(fig, path, dpi)


def density_panels(
    panels: list[tuple[str, dict[str, np.ndarray], float]],
    path,
    *,
    title: str = "",
    dpi: int = 150,
    colors: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    cols: int = 3,
) -> None:
    """One density panel per ``(title, fractions[name] (n,), baseline)`` (the paper's multi-dataset
    Figures 3 and 7), ``cols`` panels per row."""
    cols = min(cols, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 4.8 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (name, fractions, baseline) in zip(axes.flat, panels, strict=False):
        _density_panel(ax, fractions, baseline, name, colors=colors, labels=labels, legend="below")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi)


def fig14_replications(
    per_seed: dict[int, dict[str, np.ndarray]],
    baseline: dict[int, float],
    title: str,
    path,
    *,
    dpi: int = 150,
) -> None:
    """Figure 14: one density panel per replication seed, ``per_seed[seed][method] (n,)``."""
    seeds = sorted(per_seed)
    cols = min(len(seeds), 5)
    rows = int(np.ceil(len(seeds) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(seeds) :]:
        ax.axis("off")
    for ax, seed in zip(axes.flat, seeds, strict=False):
        _density_panel(ax, per_seed[seed], baseline[seed], f"seed {seed}", legend="below")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi)
