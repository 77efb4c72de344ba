"""The paper's figures, one function each, pure matplotlib (Agg backend).

- ``fig3_fraction_distributions``: Figure 3, density of the fraction in tangent space per method with
  the random baseline sqrt(k/d) as a grey line; ``fig14_replications`` the same per seed.
- ``fig7_standard_vs_robust``: Figure 7, the gradient's fraction for standard vs l2-robust training.
- ``training_curves``: Figures 6 and 15, the fraction over training, mean and 90% band across seeds.
- ``fig2_decomposition``: Figure 2, test images and each attribution split into its tangent part and
  orthogonal part (unit-normalised, top ``clip`` of pooled |values| clipped, symmetric ``bwr``).
- ``density_panels``: the multi-dataset Figures 3 and 7 (one density panel per dataset, as the paper).
- ``fig4_examples``: Figure 4, test images with each method's attribution and its fraction below.
- ``fig10_samples``: Figure 10, random samples of the generated dataset with their labels.
- ``choose_fig2_examples``: the paper's image choice for Figure 2 (docs/paper.md §5).
"""

from __future__ import annotations

import os
import re

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import gaussian_kde  # noqa: E402

from manifold_xai.attribution import registry  # noqa: E402
from manifold_xai.evaluation.robustness import reference_norm  # noqa: E402
from manifold_xai.store import atomic_path  # noqa: E402
from manifold_xai.tangent import registry as tangent_registry  # noqa: E402

# Label and colour of each method: the registry's, updated by the job's `styles` param (use_styles).
_STYLES: dict[str, dict[str, str]] = registry.styles()


def use_styles(styles: dict[str, dict[str, str]]) -> None:
    """Draw methods with these labels and colours (``{name: {"label", "colour"}}``, the figure rules'
    ``styles`` param, built by ``registry.styles`` from the config)."""
    _STYLES.update(styles)


def _style(method: str) -> dict[str, str]:
    return _STYLES.get(method) or registry.style(method)


def _label(method: str) -> str:
    return _style(method)["label"]


def _colour(method: str) -> str:
    return _style(method)["colour"]


def drawn_labels(fig) -> list[str]:
    """The titles, legend entries, tick and axis labels of every axes of ``fig``, in drawing order, once
    each."""
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts.append(ax.get_title())
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
        texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        texts.append(ax.get_ylabel())
    return list(dict.fromkeys(t for t in texts if t))


def _number(fig, path) -> None:
    """Title a paper figure (a file ``fig<N>_…``) with its number, ``Figure N: …``, in its suptitle or,
    without one, in its first panel's title (unless it is already there)."""
    match = re.match(r"fig(\d+)", os.path.basename(str(path)))
    if match is None:
        return
    label = f"Figure {match.group(1)}"
    if fig.get_suptitle():
        title = fig.get_suptitle()
        if not title.startswith("Figure"):  # fig.suptitle() would reset its size and position
            fig._suptitle.set_text(f"{label}: {title}")
    elif fig.axes:
        title = fig.axes[0].title  # set_text keeps its font size, unlike set_title
        text = title.get_text()
        if not text.startswith("Figure"):
            title.set_text(f"{label}: {text}" if text else label)


def _save(fig, path, dpi: int) -> None:
    """Save atomically, a paper figure titled with its number (``_number``); a PNG carries its titles,
    legend entries and labels in its ``Description`` text chunk, so a reader (or a test) can tell which
    methods a figure draws without looking."""
    _number(fig, path)
    fmt = str(path).rsplit(".", 1)[-1]
    metadata = {"Description": " | ".join(drawn_labels(fig))} if fmt == "png" else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt, metadata=metadata)
    plt.close(fig)


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
        colour, ls = colors.get(name, _colour(name)), LINE_STYLES[i % len(LINE_STYLES)]
        text = f"{labels.get(name, _label(name))} (mean {values.mean():.2f}, n = {len(values)})"
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


def _note(ax, note: str) -> None:
    """Small grey text under the axes (below the x label), right-aligned."""
    if note:
        ax.text(
            0.99, -0.2, note, transform=ax.transAxes, ha="right", va="top", fontsize=7, color="gray"
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
    _note(ax, note)
    _save(fig, path, dpi)


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
    _note(ax, note)
    _save(fig, path, dpi)


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
    _save(fig, path, dpi)


def _show_image(ax, image: np.ndarray) -> None:
    """``image (c, h, w)``: grey images dark on light as the paper, colour images as they are."""
    img = np.clip(image.transpose(1, 2, 0), 0, 1)
    if img.shape[2] == 1:
        ax.imshow(1 - img[..., 0], cmap="gray", vmin=0, vmax=1)
    elif np.allclose(img[..., 0], img[..., 1]) and np.allclose(img[..., 0], img[..., 2]):
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)  # grey stacked to 3 channels (X-rays)
    else:
        ax.imshow(img)


def fig4_examples(
    images: np.ndarray,
    attributions: dict[str, np.ndarray],
    fractions: dict[str, np.ndarray],
    path,
    *,
    title: str,
    dpi: int = 150,
    clip: float = 0.005,
    captions: list[str] | None = None,
) -> None:
    """Figure 4: one row per example, ``images (n, c, h, w)`` then each method's attribution
    ``attributions[method] (n, c, h, w)`` summed over channels (unit norm, top ``clip`` clipped,
    symmetric ``bwr``) with its fraction in tangent space ``fractions[method] (n,)`` below."""
    n, methods = len(images), list(attributions)
    fig, axes = plt.subplots(
        n, 1 + len(methods), figsize=(1.9 * (1 + len(methods)), 2.0 * n), squeeze=False
    )
    for i in range(n):
        _show_image(axes[i, 0], images[i])
        if captions:
            axes[i, 0].set_xlabel(captions[i], fontsize=7)
        for j, method in enumerate(methods):
            heat = _normalise_and_clip(attributions[method][i : i + 1].sum(axis=1), clip)[0]
            v = np.abs(heat).max() or 1.0
            ax = axes[i, 1 + j]
            ax.imshow(heat, cmap="bwr", vmin=-v, vmax=v)
            ax.set_xlabel(f"fraction {fractions[method][i]:.2f}", fontsize=8)
            if i == 0:
                ax.set_title(_label(method), fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 0.93, 1))
    _colour_scale(
        fig,
        f"each map summed over channels, unit-normalised, clipped at the top {clip:.1%} of |values|",
    )
    _save(fig, path, dpi)


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
    _save(fig, path, dpi)


REGIME_TITLES = {
    "standard": "Adam",
    "adversarial": "PGD (l2-adversarial)",
    "random_labels": "Random labels",
}


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
            color = _colour(method)
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
                label=_label(method)
                if len(seeds) == 1
                else f"{_label(method)} (mean of {len(seeds)} seeds)",
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
    _save(fig, path, dpi)


def choose_fig2_examples(
    fraction: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    n_classes: int,
    rng: np.random.Generator,
    quantile: float = 0.25,
    draws: int = 10,
) -> list[int]:
    """Per class c: correctly classified test images of class c with fraction above the class's
    ``quantile``; draw ``draws`` at random and keep the one with the largest fraction (docs/paper.md §5)."""
    chosen = []
    for c in range(n_classes):
        idx = np.flatnonzero((labels == c) & (predicted == c) & np.isfinite(fraction))
        if len(idx) == 0:
            continue
        idx = idx[fraction[idx] >= np.quantile(fraction[idx], quantile)]
        pick = rng.choice(idx, size=min(draws, len(idx)), replace=False)
        chosen.append(int(pick[np.argmax(fraction[pick])]))
    return chosen


def _normalise_and_clip(maps: np.ndarray, clip: float) -> np.ndarray:
    """Unit-norm each map, then clip to the (1 - clip) quantile of the pooled |values|."""
    norms = np.linalg.norm(maps.reshape(len(maps), -1), axis=1).reshape(
        -1, *([1] * (maps.ndim - 1))
    )
    maps = maps / np.where(norms > 0, norms, 1)
    bound = np.quantile(np.abs(maps), 1 - clip) if clip > 0 else np.abs(maps).max()
    return np.clip(maps, -bound, bound)


def _corner(ax, text: str) -> None:
    """A small label in the top-left corner inside a panel."""
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=6,
        bbox={"facecolor": "white", "alpha": 0.8, "pad": 1, "lw": 0},
    )


def _row_label(ax, text: str) -> None:
    """A row's name left of its first panel, horizontal (it cannot wrap into the next row)."""
    ax.set_ylabel(text, fontsize=7, rotation=0, ha="right", va="center", labelpad=4)


def _colour_scale(fig, note: str) -> None:
    """The ``bwr`` scale of the attribution panels at the right edge, with how the panels are
    normalised at the bottom."""
    bar = fig.add_axes((0.945, 0.25, 0.012, 0.5))
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(-1, 1), cmap="bwr")
    fig.colorbar(mappable, cax=bar, ticks=[-1, 0, 1]).ax.set_yticklabels(
        ["−max", "0", "+max"], fontsize=6
    )
    fig.text(0.01, 0.005, note, fontsize=6, color="gray", ha="left", va="bottom")


def fig2_decomposition(
    images: np.ndarray,
    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    path,
    *,
    title: str,
    dpi: int = 150,
    clip: float = 0.005,
) -> None:
    """``images (n, c, h, w)``; ``parts[method] = (tangent (n, c, h, w), orthogonal (n, c, h, w),
    fraction (n,))``. Rows: the image, then per method its tangent part and orthogonal part (red
    positive, blue negative, one symmetric range per image and method), with the image's contour."""
    n = len(images)
    rows = 1 + 2 * len(parts)
    fig, axes = plt.subplots(rows, n, figsize=(1.2 * n, 1.25 * rows), squeeze=False)
    gray = images.mean(axis=1)
    for j in range(n):
        _show_image(axes[0, j], images[j])
    for m, (method, (tangent, orthogonal, fraction)) in enumerate(parts.items()):
        for j in range(n):
            pair = np.stack([tangent[j], orthogonal[j]]).sum(axis=1)
            norms = np.linalg.norm(pair.reshape(2, -1), axis=1)
            pair[norms < 1e-5 * norms.max()] = (
                0.0  # a part that is zero up to rounding is shown as zero
            )
            maps = _normalise_and_clip(pair, clip)
            v = np.abs(maps).max() or 1.0
            for r, part in enumerate(maps):
                ax = axes[1 + 2 * m + r, j]
                ax.imshow(part, cmap="bwr", vmin=-v, vmax=v)
                ax.contour(gray[j], levels=[0.5], colors="black", linewidths=0.5, alpha=0.7)
            _corner(axes[1 + 2 * m, j], f"{fraction[j]:.2f}")  # inside its tangent panel
        _row_label(axes[1 + 2 * m, 0], f"{_label(method)}:\ntangent part")
        _row_label(axes[2 + 2 * m, 0], "orthogonal part")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    _row_label(axes[0, 0], "image")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 0.93, 0.98), h_pad=0.3, w_pad=0.2)
    _colour_scale(
        fig,
        "per image and method: each part unit-normalised, both clipped at the top "
        f"{clip:.1%} of their |values| and shown on one scale; number: fraction in tangent space",
    )
    _save(fig, path, dpi)


def fig10_samples(
    images: np.ndarray, labels: np.ndarray, path, *, title: str, dpi: int = 150
) -> None:
    """A square grid of the dataset's samples ``images (n, c, h, w)`` with their labels; the title sits
    right above the grid (no empty band)."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols, 0.95 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        ax = axes.flat[i]
        _show_image(ax, images[i])
        ax.set_title(str(int(labels[i])), fontsize=7, pad=1)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    fig.suptitle(title, fontsize=9, y=1 - 0.05 / fig.get_figheight(), va="top")
    _save(fig, path, dpi)


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
    left.set_xticks(x, [_label(m) for m in methods], fontsize=8, rotation=25, ha="right")
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
    _note(right, note)
    if dimensions:
        _dimension_panel(axes[2], dimensions)
    fig.tight_layout()
    _save(fig, path, dpi)


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
        color = _colour(method)
        left.plot(
            x,
            np.r_[base[mean], rows[mean].values],
            "o-",
            ms=3,
            color=color,
            label=_label(method),
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
                color=_colour(method),
                label=_label(method),
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
    _save(fig, path, dpi)


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
                    else {"color": _colour(str(method)), "ls": "-"}
                )
                ax.errorbar(
                    range(len(ticks)),
                    values,
                    yerr=errors,
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=_label(str(method)),
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
    _save(fig, path, dpi)


def fig8_simulation(vertices, points, fractions, result: dict, path, *, dpi: int = 150) -> None:
    """Figure 8: left, the curve projected on (x₁, x₂) with the test points coloured by where their
    gradient lies (tangent space, orthogonal, neither); right, the histogram of the gradient's fraction
    in tangent space over the test points."""
    tol = np.radians(result["tolerance_deg"])
    inside, orthogonal = fractions >= np.cos(tol), fractions <= np.sin(tol)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9))
    closed = np.vstack([vertices, vertices[:1]])
    left.plot(closed[:, 0], closed[:, 1], color="lightgray", lw=1, zorder=0)
    for mask, color, label in (
        (inside, "tab:blue", "gradient in tangent space"),
        (orthogonal, "tab:red", "gradient orthogonal"),
        (~inside & ~orthogonal, "tab:gray", "neither"),
    ):
        left.scatter(
            points[mask, 0],
            points[mask, 1] + 0.03 * np.random.default_rng(0).standard_normal(mask.sum()),
            s=4,
            color=color,
            label=f"{label} ({mask.mean():.2f})",
        )
    left.axvline(0, color="black", lw=0.8, ls=":")
    left.set(
        xlabel="x₁ (label = sign x₁)",
        ylabel="x₂ (jittered)",
        title=f"Closed curve in d = {result['d']}, test accuracy {result['test_accuracy']:.3f}",
    )
    left.legend(fontsize=7, frameon=True, framealpha=0.9, loc="lower right")
    right.hist(
        fractions[np.isfinite(fractions)], bins=np.linspace(0, 1, 41), color="tab:blue", alpha=0.8
    )
    right.set(
        xlabel="Fraction of the gradient in tangent space",
        ylabel="Test points",
        title=f"two-layer ReLU net, width {result['width']}",
    )
    fig.tight_layout()
    _save(fig, path, dpi)


REGIME_COLOURS = {"standard": "tab:blue", "adversarial": "tab:gray", "random_labels": "tab:red"}
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
    _save(fig, path, dpi)
