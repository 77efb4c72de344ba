"""Figures of the training-curve stage (``workflow/rules/curves.smk``): ``training_curves``, Figures 6
and 15, the fraction over training, mean and 90% band across seeds."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    REGIME_TITLES,
    method_colour,
    method_label,
    plt,
    save,
)

MIN_SEEDS_FOR_BAND = 3  # a quantile band over fewer seeds says nothing: their own curves are drawn


def training_curves(
    summary,
    regimes: list[str],
    methods: list[str],
    path,
    *,
    title: str,
    errors: bool,
    dpi: int = 150,
    note: str = "",
) -> None:
    """Figures 6 and 15: fraction in tangent space over training steps, one panel per regime.

    ``summary``: one dataset's ``curves.summarize_curves`` result (dims ``seed, regime, method_name, step``).
    Per method: each seed's curve (thin), and the across-seed mean (thick) only at steps every seed
    reached, so a seed that stops early (random labels stop at the target accuracy) makes no jump; with at
    least ``MIN_SEEDS_FOR_BAND`` seeds the central 90% band across seeds (``reductions.seed_band``). Every
    checkpoint is a marker, so a run with two checkpoints shows two points, not a trend. The baseline
    sqrt(k/d) is a grey dashed line; with ``errors``, the measured random-vector fraction (brown, dotted)
    and, in a second row, the seed-mean test (solid) and train (dashed) error. Steps on a symlog axis
    (the schedule is dense early)."""
    from manifold_xai.evaluation.reductions import seed_band

    seeds = [s for s in summary["seed"].values if np.isfinite(summary["mean"].sel(seed=s)).any()]
    summary = summary.sel(seed=seeds)
    band = seed_band(summary["mean"])
    rows = 2 if errors else 1
    fig, axes = plt.subplots(
        rows,
        len(regimes),
        figsize=(4.6 * len(regimes), 3.4 + 2.0 * (rows - 1)),
        squeeze=False,
        sharex="col",
        gridspec_kw={"height_ratios": [3, 1.6][:rows]},
    )
    for col, regime in enumerate(regimes):
        ax = axes[0, col]
        run = summary.sel(regime=regime)
        for method in methods:
            color = method_colour(method)
            curves = run["mean"].sel({"method_name": method})  # (seed, step)
            for seed in seeds if len(seeds) > 1 else []:
                one = curves.sel(seed=seed)
                ok = np.isfinite(one.values)
                ax.plot(
                    one["step"].values[ok],
                    one.values[ok],
                    color=color,
                    lw=0.8,
                    ls="-" if ok.sum() > 2 else "none",
                    alpha=0.5,
                    marker="o",
                    ms=2,
                )
            everyone = np.isfinite(curves.values).all(axis=0)  # steps every seed reached
            steps = curves["step"].values[everyone]
            mean = band.sel({"regime": regime, "method_name": method})
            ax.plot(
                steps,
                mean["mean"].values[everyone],
                color=color,
                lw=2,
                ls="-" if len(steps) > 2 else "none",  # two checkpoints: two points, not a trend
                marker="o",
                ms=3 if len(steps) > 2 else 6,
                label=method_label(method)
                if len(seeds) == 1
                else f"{method_label(method)} (mean of {len(seeds)} seeds)",
            )
            if len(seeds) >= MIN_SEEDS_FOR_BAND:
                ax.fill_between(
                    steps,
                    mean["low"].values[everyone],
                    mean["high"].values[everyone],
                    color=color,
                    alpha=0.2,
                    lw=0,
                )
        baseline = float(run["baseline"].mean())
        ax.axhline(
            baseline, color="gray", lw=1.5, ls="--", label=f"random sqrt(k/d) = {baseline:.3f}"
        )
        if errors:
            measured = float(run["random_mean"].mean())
            ax.axhline(
                measured,
                color="tab:brown",
                lw=1.5,
                ls=":",
                zorder=3,
                label=f"random vectors, measured = {measured:.3f}",
            )
            err_ax = axes[1, col]
            for name, style in (("test_error", "-"), ("train_error", "--")):
                err = run[name].mean("seed")
                ok = np.isfinite(err.values)
                err_ax.plot(
                    err["step"].values[ok],
                    err.values[ok],
                    color="black",
                    lw=1,
                    ls=style,
                    marker="o",
                    ms=2,
                    label=name.replace("_", " "),
                )
            err_ax.set(ylim=(0, 1), ylabel="0-1 error", xlabel="gradient steps")
            err_ax.legend(fontsize=7, frameon=True, framealpha=0.95, edgecolor="none")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set(
            ylabel="Fraction in tangent space", ylim=(0, 1), title=REGIME_TITLES.get(regime, regime)
        )
        if not errors:
            ax.set_xlabel("gradient steps")
        ax.legend(fontsize=7, frameon=True, framealpha=0.95, edgecolor="none", loc="upper left")
    what = "one seed" if len(seeds) == 1 else f"thin: each of {len(seeds)} seeds; thick: their mean"
    if len(seeds) >= MIN_SEEDS_FOR_BAND:
        what += "; band: central 90% of the seeds' curves"
    fig.suptitle(f"{title} ({note}; {what})" if note else f"{title} ({what})", fontsize=10)
    fig.tight_layout()
    save(fig, path, dpi)
