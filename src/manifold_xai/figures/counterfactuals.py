"""Figures of the counterfactual walks (``workflow/rules/counterfactuals.smk``): ``walks_figure``, a strip
of images from the start to the flip per direction, and ``distance_figure``, the distance to the flip by
direction and regime."""

from __future__ import annotations

import numpy as np

from manifold_xai.evaluation.counterfactuals import DIRECTIONS
from manifold_xai.figures.style import REGIME_TITLES, plt, save

DIRECTION_TITLES = {
    "tangent": "tangent part",
    "orthogonal": "orthogonal part",
    "whole": "whole map",
    "random_tangent": "random tangent",
}
STRIP_COLUMNS = 8


def _strip_steps(steps: float, max_steps: int) -> np.ndarray:
    """``STRIP_COLUMNS`` step indices from 0 to the flip (or to the budget when it did not flip)."""
    last = int(steps) if np.isfinite(steps) else max_steps
    return np.unique(np.linspace(0, last, STRIP_COLUMNS).round().astype(int))


def walks_figure(ds, path, *, dpi: int = 150) -> None:
    """Example walks of one run (``ds``: an ``evaluate_counterfactuals`` store) for its first method: one
    row per (example image, direction), images from the start to the flip (the last column, titled with
    the step; "no flip" when the budget ended first)."""
    method = str(ds["method_name"].values[0])
    one = ds.sel({"method_name": method})
    directions = [d for d in DIRECTIONS if d in one["direction"].values]
    examples = one.sizes["example"]
    max_steps = int(ds.attrs["max_steps"])
    rows = examples * len(directions)
    fig, axes = plt.subplots(
        rows, STRIP_COLUMNS, figsize=(STRIP_COLUMNS * 0.9, rows * 0.95), squeeze=False
    )
    for e in range(examples):
        for j, direction in enumerate(directions):
            r = e * len(directions) + j
            walk = one.sel(direction=direction)
            steps = float(walk["steps"].values[e])
            chosen = _strip_steps(steps, max_steps)
            for c in range(STRIP_COLUMNS):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c >= len(chosen):
                    ax.axis("off")
                    continue
                image = walk["path"].values[e, chosen[c]]
                ax.imshow(np.moveaxis(image, 0, -1).squeeze(), cmap="gray", vmin=0, vmax=1)
                if c == len(chosen) - 1:
                    ax.set_title("flip" if np.isfinite(steps) else "no flip", fontsize=6, pad=1)
                ax.set_xlabel(f"{chosen[c]}", fontsize=5, labelpad=1)
            axes[r, 0].set_ylabel(f"#{e} {DIRECTION_TITLES[direction]}", fontsize=6)
    fig.suptitle(
        f"{ds.attrs['dataset']} seed {ds.attrs['seed']}, {REGIME_TITLES.get(ds.attrs['regime'], ds.attrs['regime'])}: "
        f"walks against the {method} map (step {ds.attrs['step']:g}, numbers: steps)",
        fontsize=8,
    )
    save(fig, path, dpi)


def distance_figure(table, path, *, title: str, dpi: int = 150) -> None:
    """Median l2 distance to the flip (left) and flip rate (right) per direction, one group per regime
    and method (``table``: one dataset's rows of counterfactuals.csv); a dot per seed, the bar the mean
    over seeds."""
    groups = list(dict.fromkeys(zip(table["regime"], table["method"], strict=True)))
    directions = [d for d in DIRECTIONS if d in set(table["direction"])]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    width = 0.8 / max(len(directions), 1)
    colours = plt.get_cmap("tab10")
    for j, direction in enumerate(directions):
        for ax, column in ((left, "median_distance"), (right, "flip_rate")):
            means = []
            for g, (regime, method) in enumerate(groups):
                rows = table[
                    (table["regime"] == regime)
                    & (table["method"] == method)
                    & (table["direction"] == direction)
                ]
                values = rows[column].to_numpy(dtype=float)
                x = g + (j - (len(directions) - 1) / 2) * width
                ax.scatter(np.full(len(values), x), values, color=colours(j), s=8, zorder=3)
                means.append(np.nanmean(values) if np.isfinite(values).any() else np.nan)
            xs = np.arange(len(groups)) + (j - (len(directions) - 1) / 2) * width
            ax.bar(
                xs,
                means,
                width=width,
                color=colours(j),
                alpha=0.4,
                label=DIRECTION_TITLES[direction],
            )
    labels = [f"{REGIME_TITLES.get(r, r)}\n{m}" for r, m in groups]
    for ax in (left, right):
        ax.set_xticks(np.arange(len(groups)), labels, fontsize=7)
    left.set_ylabel("median l2 distance to the flip (flipped walks)")
    right.set_ylabel("flip rate within the step budget")
    right.set_ylim(0, 1.05)
    left.legend(fontsize=7)
    fig.suptitle(f"{title}: counterfactual walks by direction", fontsize=9)
    save(fig, path, dpi)
