"""Figures of the data stage (``workflow/rules/dataset.smk``): ``fig10_samples``, Figure 10, random
samples of a run's dataset with their labels."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    plt,
    save,
    show_image,
)


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
        show_image(ax, images[i])
        ax.set_title(str(int(labels[i])), fontsize=7, pad=1)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    fig.suptitle(title, fontsize=9, y=1 - 0.05 / fig.get_figheight(), va="top")
    save(fig, path, dpi)
