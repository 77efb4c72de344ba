"""Figures of the sanity-check stage (``workflow/rules/sanity.smk``): ``sanity_figure``, model-parameter
randomisation per layer with the randomised attributions' fraction in tangent space (Figure 13 is
``attribution.fig2_decomposition`` of random maps)."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    method_colour,
    method_label,
    plt,
    save,
)

SANITY_PANELS = {
    "spearman_abs": "Spearman (|a|) with original",
    "ssim": "SSIM with original",
    "fraction": "Fraction in tangent space",
}


def sanity_figure(mean, path, *, title: str, dpi: int = 150, note: str = "", half=None) -> None:
    """Sanity checks: ``mean`` (xarray with ``spearman_abs, ssim, fraction (mode, layer, method_name)``,
    ``original_fraction (method_name)`` and the coordinate ``layer_description``); one column per
    randomisation mode, one row per metric, one line per method: first the original model, then the
    randomised layers from the output layer, named by what they are. ``half`` (same shape as ``mean``):
    the half-width of the 95% interval over test images, drawn as error bars. ``random_tangent`` in
    black dashes: it stays at 1 (fails the check)."""
    modes, metrics = list(mean["mode"].values), list(SANITY_PANELS)
    fig, axes = plt.subplots(
        len(metrics), len(modes), figsize=(4.8 * len(modes), 2.7 * len(metrics)), squeeze=False
    )
    names = [str(x) for x in mean["layer"].values]
    described = (
        [str(x) for x in mean["layer_description"].values]
        if "layer_description" in mean.coords
        else names
    )
    ticks = ["original", *(f"{d} ({n})" for d, n in zip(described, names, strict=True))]
    for c, mode in enumerate(modes):
        for r, metric in enumerate(metrics):
            ax = axes[r, c]
            for method in mean["method_name"].values:
                at = {"mode": mode, "method_name": method}
                start = (
                    float(mean["original_fraction"].sel(method_name=method))
                    if metric == "fraction" and "original_fraction" in mean
                    else 1.0  # an attribution agrees with itself
                )
                values = np.r_[start, mean[metric].sel(at).values]
                errors = None if half is None else np.r_[0.0, half[metric].sel(at).values]
                style = (
                    {"color": "black", "ls": "--"}
                    if method == "random_tangent"
                    else {"color": method_colour(str(method)), "ls": "-"}
                )
                ax.errorbar(
                    range(len(ticks)),
                    values,
                    yerr=errors,
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=method_label(str(method)),
                    **style,
                )
            ax.set_xticks(range(len(ticks)), ticks, rotation=35, ha="right", fontsize=7)
            ax.set(
                ylabel=SANITY_PANELS[metric], ylim=(-0.1 if metric == "spearman_abs" else 0, 1.05)
            )
            if r == 0:
                ax.set_title(f"{title}: {mode} randomisation (from the output layer)", fontsize=9)
    axes[0, -1].legend(fontsize=7, frameon=True, framealpha=0.95, edgecolor="none")
    fig.tight_layout()
    if note:  # below everything, so it cannot overlap the rotated tick labels
        fig.text(0.99, 0.0, note, ha="right", va="top", fontsize=7, color="gray")
    save(fig, path, dpi)
