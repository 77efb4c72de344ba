"""Figures of the robustness stage (``workflow/rules/robustness.smk``): ``robustness_figure``, on- and
off-manifold robustness against noise norm and against the gradient's alignment."""

from __future__ import annotations

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker

from manifold_xai.evaluation.robustness import reference_norm
from manifold_xai.figures.style import (
    REGIME_TITLES,
    plt,
    save,
)

REGIME_COLOURS = {
    "standard": "tab:blue",
    "adversarial": "tab:gray",
    "random_labels": "tab:red",
    "adversarial_normal": "tab:green",
    "adversarial_tangent": "tab:purple",
}


SEED_MARKERS = "os^Dv<>p*h"


def robustness_figure(table, path, *, regimes: list[str], title: str, dpi: int = 150) -> None:
    """On- and off-manifold robustness (``table``: one dataset's rows of summary/robustness.csv).

    Left: the mean change of the predicted class's logit under on-manifold (solid) and off-manifold
    (dashed) noise of each norm, at each run's last checkpoint; mean over seeds, bars the range across
    seeds. Right: relative off-manifold robustness at the reference norm against the gradient's mean
    fraction in tangent space, one point per checkpoint, coloured by regime, one marker per seed."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    ref = reference_norm(table["norm"].unique())
    for regime in regimes:
        runs = table[table["regime"] == regime]
        if runs.empty:
            continue
        colour = REGIME_COLOURS.get(regime, None)
        last = runs[runs["step"] == runs.groupby("seed")["step"].transform("max")]
        for direction, ls in (("on", "-"), ("off", "--")):
            per_norm = last.groupby("norm")[f"{direction}_logit"]
            mean, low, high = per_norm.mean(), per_norm.min(), per_norm.max()
            left.errorbar(
                mean.index,
                mean.values,
                yerr=[mean.values - low.values, high.values - mean.values],
                color=colour,
                ls=ls,
                marker="o",
                ms=3,
                capsize=2,
                label=f"{REGIME_TITLES.get(regime, regime)}, {direction}-manifold",
            )
        at_ref = runs[runs["norm"] == ref]
        for i, (seed, run) in enumerate(at_ref.groupby("seed")):
            right.scatter(
                run["gradient_fraction"],
                run["relative_off_robustness"],
                color=colour,
                marker=SEED_MARKERS[i % len(SEED_MARKERS)],
                s=14,
                alpha=0.8,
                label=f"{REGIME_TITLES.get(regime, regime)}, seed {seed}",
            )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="noise l2 norm",
        ylabel="mean |Δ logit| of the predicted class",
        title=f"{title}: last checkpoint (bars: range over seeds)",
    )
    norms = sorted(float(v) for v in table["norm"].unique())
    left.set_xticks(norms, [f"{v:g}" for v in norms])
    left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.axhline(0.5, color="black", lw=0.6, ls=":")
    right.set(
        xlabel="gradient: mean fraction in tangent space",
        ylabel="relative off-manifold robustness",
        title=f"every checkpoint, noise norm {ref:g}",
        ylim=(0, 1),
    )
    left.legend(fontsize=6, frameon=False)
    right.legend(fontsize=6, frameon=False, loc="lower right")
    fig.tight_layout()
    save(fig, path, dpi)
