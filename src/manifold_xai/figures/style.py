"""What every figure shares: the methods' labels and colours, the image and attribution-map panels'
helpers (grey images, unit-normalised and clipped maps on one symmetric ``bwr`` scale), notes and
labels, and saving (atomic, numbered ``Figure N``, the drawn labels in the PNG's ``Description``).

Importing it selects matplotlib's Agg backend: figures are written to files, never shown.
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

from manifold_xai.attribution import registry  # noqa: E402
from manifold_xai.store import atomic_path  # noqa: E402

# Label and colour of each method: the registry's, updated by the job's `styles` param (use_styles).
_STYLES: dict[str, dict[str, str]] = registry.styles()


def use_styles(styles: dict[str, dict[str, str]]) -> None:
    """Draw methods with these labels and colours (``{name: {"label", "colour"}}``, the figure rules'
    ``styles`` param, built by ``registry.styles`` from the config)."""
    _STYLES.update(styles)


def method_style(method: str) -> dict[str, str]:
    return _STYLES.get(method) or registry.style(method)


def method_label(method: str) -> str:
    return method_style(method)["label"]


def method_colour(method: str) -> str:
    return method_style(method)["colour"]


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


def number_figure(fig, path) -> None:
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


def save(fig, path, dpi: int) -> None:
    """Save atomically, a paper figure titled with its number (``_number``); a PNG carries its titles,
    legend entries and labels in its ``Description`` text chunk, so a reader (or a test) can tell which
    methods a figure draws without looking."""
    number_figure(fig, path)
    fmt = str(path).rsplit(".", 1)[-1]
    metadata = {"Description": " | ".join(drawn_labels(fig))} if fmt == "png" else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt, metadata=metadata)
    plt.close(fig)


def add_note(ax, note: str) -> None:
    """Small grey text under the axes (below the x label), right-aligned."""
    if note:
        ax.text(
            0.99, -0.2, note, transform=ax.transAxes, ha="right", va="top", fontsize=7, color="gray"
        )


def show_image(ax, image: np.ndarray) -> None:
    """``image (c, h, w)``: grey images dark on light as the paper, colour images as they are."""
    img = np.clip(image.transpose(1, 2, 0), 0, 1)
    if img.shape[2] == 1:
        ax.imshow(1 - img[..., 0], cmap="gray", vmin=0, vmax=1)
    elif np.allclose(img[..., 0], img[..., 1]) and np.allclose(img[..., 0], img[..., 2]):
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)  # grey stacked to 3 channels (X-rays)
    else:
        ax.imshow(img)


def normalise_and_clip(maps: np.ndarray, clip: float) -> np.ndarray:
    """Unit-norm each map, then clip to the (1 - clip) quantile of the pooled |values|."""
    norms = np.linalg.norm(maps.reshape(len(maps), -1), axis=1).reshape(
        -1, *([1] * (maps.ndim - 1))
    )
    maps = maps / np.where(norms > 0, norms, 1)
    bound = np.quantile(np.abs(maps), 1 - clip) if clip > 0 else np.abs(maps).max()
    return np.clip(maps, -bound, bound)


def corner_label(ax, text: str) -> None:
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


def row_label(ax, text: str) -> None:
    """A row's name left of its first panel, horizontal (it cannot wrap into the next row)."""
    ax.set_ylabel(text, fontsize=7, rotation=0, ha="right", va="center", labelpad=4)


def colour_scale(fig, note: str) -> None:
    """The ``bwr`` scale of the attribution panels at the right edge, with how the panels are
    normalised at the bottom."""
    bar = fig.add_axes((0.945, 0.25, 0.012, 0.5))
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(-1, 1), cmap="bwr")
    fig.colorbar(mappable, cax=bar, ticks=[-1, 0, 1]).ax.set_yticklabels(
        ["−max", "0", "+max"], fontsize=6
    )
    fig.text(0.01, 0.005, note, fontsize=6, color="gray", ha="left", va="bottom")


REGIME_TITLES = {
    "standard": "Adam",
    "adversarial": "PGD (l2-adversarial)",
    "random_labels": "Random labels",
    "adversarial_normal": "PGD, normal space only",
    "adversarial_tangent": "PGD, tangent space only",
}
