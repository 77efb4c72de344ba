"""Figures of the attribution stage (``workflow/rules/attribution.smk``): the maps themselves.

- ``fig2_decomposition``: Figure 2 (and 11, 13), test images and each attribution split into its tangent
  part and orthogonal part (unit-normalised, top ``clip`` of pooled |values| clipped, symmetric ``bwr``).
- ``choose_fig2_examples``: the paper's image choice for Figure 2 (docs/paper.md §5).
- ``fig4_examples``: Figure 4, test images with each method's attribution and its fraction below.
"""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    colour_scale,
    corner_label,
    method_label,
    normalise_and_clip,
    plt,
    row_label,
    save,
    show_image,
)


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
        show_image(axes[i, 0], images[i])
        if captions:
            axes[i, 0].set_xlabel(captions[i], fontsize=7)
        for j, method in enumerate(methods):
            heat = normalise_and_clip(attributions[method][i : i + 1].sum(axis=1), clip)[0]
            v = np.abs(heat).max() or 1.0
            ax = axes[i, 1 + j]
            ax.imshow(heat, cmap="bwr", vmin=-v, vmax=v)
            ax.set_xlabel(f"fraction {fractions[method][i]:.2f}", fontsize=8)
            if i == 0:
                ax.set_title(method_label(method), fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 0.93, 1))
    colour_scale(
        fig,
        f"each map summed over channels, unit-normalised, clipped at the top {clip:.1%} of |values|",
    )
    save(fig, path, dpi)


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
        show_image(axes[0, j], images[j])
    for m, (method, (tangent, orthogonal, fraction)) in enumerate(parts.items()):
        for j in range(n):
            pair = np.stack([tangent[j], orthogonal[j]]).sum(axis=1)
            norms = np.linalg.norm(pair.reshape(2, -1), axis=1)
            pair[norms < 1e-5 * norms.max()] = (
                0.0  # a part that is zero up to rounding is shown as zero
            )
            maps = normalise_and_clip(pair, clip)
            v = np.abs(maps).max() or 1.0
            for r, part in enumerate(maps):
                ax = axes[1 + 2 * m + r, j]
                ax.imshow(part, cmap="bwr", vmin=-v, vmax=v)
                ax.contour(gray[j], levels=[0.5], colors="black", linewidths=0.5, alpha=0.7)
            corner_label(axes[1 + 2 * m, j], f"{fraction[j]:.2f}")  # inside its tangent panel
        row_label(axes[1 + 2 * m, 0], f"{method_label(method)}:\ntangent part")
        row_label(axes[2 + 2 * m, 0], "orthogonal part")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    row_label(axes[0, 0], "image")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 0.93, 0.98), h_pad=0.3, w_pad=0.2)
    colour_scale(
        fig,
        "per image and method: each part unit-normalised, both clipped at the top "
        f"{clip:.1%} of their |values| and shown on one scale; number: fraction in tangent space",
    )
    save(fig, path, dpi)
