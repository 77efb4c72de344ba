"""Figures of the ROAR stage (``workflow/rules/roar.smk``): ``fig5_roar``, Figure 5, ROAR and ROAD
accuracy against the removed or imputed fraction."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    method_colour,
    method_label,
    plt,
    save,
)


def fig5_roar(roar, road, path, *, title: str, dpi: int = 150) -> None:
    """Figure 5: ``roar`` (the rows of ``roar.csv``: method, fraction, accuracy = mean over the repeated
    retrainings, ci_low/ci_high = its 95% t-interval over repeats; with several seeds, seed_mean and
    seed_ci_* over seeds; method ``none`` = the baseline at fraction 0) as accuracy against the removed
    fraction per method, with the interval as a band; ``road`` (method, order, fraction, accuracy)
    likewise in two panels, most important pixels first (morf) and least important first (lerf)."""
    fig, (left, *road_axes) = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True)
    across = roar["seed"].nunique() > 1
    mean, low, high = (
        ("seed_mean", "seed_ci_low", "seed_ci_high")
        if across
        else ("accuracy", "ci_low", "ci_high")
    )
    curves = (
        roar.groupby(["method", "fraction"], sort=False)[[mean, low, high]].first().reset_index()
    )
    base = curves[curves["method"] == "none"].iloc[0]
    for method, rows in curves[curves["method"] != "none"].groupby("method", sort=False):
        rows = rows.sort_values("fraction")
        x = np.r_[0.0, rows["fraction"].values]
        color = method_colour(method)
        left.plot(
            x,
            np.r_[base[mean], rows[mean].values],
            "o-",
            ms=3,
            color=color,
            label=method_label(method),
        )
        left.fill_between(
            x,
            np.r_[base[low], rows[low].values],
            np.r_[base[high], rows[high].values],
            color=color,
            alpha=0.15,
            lw=0,
        )
    repeats = int(roar["repeats"].min())
    band = (
        f"band: 95% t-interval over {roar['seed'].nunique()} seeds"
        if across
        else f"band: 95% t-interval over {repeats} retrainings"
    )
    left.set(
        xlabel="Fraction of removed pixels",
        ylabel="Test accuracy (retrained)",
        title=f"ROAR: {title} ({band})",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    left.title.set_fontsize(8)
    left.legend(fontsize=7, frameon=False)
    road_base = road[road["method"] == "none"]["accuracy"].mean()
    for ax, order, what in zip(
        road_axes, ("morf", "lerf"), ("most important first", "least important first"), strict=True
    ):
        for method, rows in road[(road["method"] != "none") & (road["order"] == order)].groupby(
            "method", sort=False
        ):
            curve = rows.groupby("fraction")["accuracy"].mean()
            ax.plot(
                np.r_[0.0, curve.index.values],
                np.r_[road_base, curve.values],
                "o-",
                ms=3,
                color=method_colour(method),
                label=method_label(method),
            )
        ax.set(
            xlabel=f"Fraction of imputed pixels ({what})",
            ylabel="Test accuracy (no retraining)",
            title=f"ROAD ({order.upper()}): {title}",
            xlim=(0, 1),
        )
        ax.yaxis.set_tick_params(labelleft=True)  # shared y, but each panel readable alone
        ax.title.set_fontsize(8)
    fig.tight_layout()
    save(fig, path, dpi)
