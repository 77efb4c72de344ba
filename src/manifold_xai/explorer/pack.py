"""Maps as sprite sheets: 63 levels of a symmetric scale, lossless WebP, data URLs.

A map ``v (h, w)`` with scale ``s > 0`` is stored as ``q = round((v / s + 1) / 2 · 62)`` clipped to
``0 … 62`` (times 4 in the byte, so the sheet is viewable as it is), so ``v / s = q / 31 − 1`` and 0 is
level 31 exactly, the white middle of the colour scale. The tangent part and the orthogonal part of an
attribution share the attribution's scale; the page computes the orthogonal part as
``q_attribution − q_tangent + 31`` (in the same levels), so it is not shipped. One level is s / 31, finer than the eye tells apart in a 32-pixel map;
the numbers on the page come from the stores, never from the maps.
"""

from __future__ import annotations

import base64
import io

import numpy as np

LEVELS = 63  # odd: zero has a level of its own
COLORMAP = (
    "PuOr_r"  # ColorBrewer PuOr reversed (purple negative, orange positive): colour-blind safe
)


def map_scale(maps: np.ndarray) -> np.ndarray:
    """``(n,) float64``: each map's largest |value| (1 for an all-zero map), over every axis but the
    first of ``maps (n, ...)``."""
    flat = np.abs(np.asarray(maps, np.float64).reshape(len(maps), -1))
    scale = flat.max(axis=1) if flat.size else np.ones(len(maps))
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def quantise(maps: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(n, h, w) uint8`` levels ``0 … 62`` of ``maps (n, h, w)`` over ``scale (n,)``; NaN at the middle."""
    v = np.asarray(maps, np.float64) / np.asarray(scale, np.float64)[:, None, None]
    q = np.rint((np.nan_to_num(v, nan=0.0) + 1) / 2 * (LEVELS - 1))
    return np.clip(q, 0, LEVELS - 1).astype(np.uint8)


def sheet(tiles: np.ndarray, columns: int) -> np.ndarray:
    """Tiles ``(m, h, w)`` or ``(m, h, w, 3)`` side by side, ``columns`` per row, row-major; the last row
    padded with zeros: ``(rows · h, columns · w[, 3])``."""
    m, h, w = tiles.shape[:3]
    rows = max(1, -(-m // columns))
    padded = np.zeros((rows * columns, *tiles.shape[1:]), tiles.dtype)
    padded[:m] = tiles
    grid = padded.reshape(rows, columns, h, w, *tiles.shape[3:])
    return grid.swapaxes(1, 2).reshape(rows * h, columns * w, *tiles.shape[3:])


def webp_data_url(pixels: np.ndarray) -> str:
    """A lossless WebP of ``pixels (H, W) uint8`` (grey) or ``(H, W, 3) uint8`` as a data URL."""
    from PIL import Image

    mode = "L" if pixels.ndim == 2 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode).save(
        buffer, "WEBP", lossless=True, quality=100, method=4
    )
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def map_sheet_url(levels: np.ndarray, columns: int) -> str:
    """The data URL of a sheet of quantised maps ``(m, h, w) uint8`` (levels times 4 in the bytes)."""
    return webp_data_url(sheet(levels.astype(np.uint8) * 4, columns))


def image_sheet_url(images: np.ndarray, columns: int) -> str:
    """The data URL of a sheet of input images ``(m, c, h, w)`` in [0, 1] (clipped): grey for one
    channel, RGB for three or more (the first three)."""
    x = np.clip(np.nan_to_num(np.asarray(images, np.float64)), 0, 1)
    pixels = x[:, 0] if x.shape[1] < 3 else np.moveaxis(x[:, :3], 1, -1)
    return webp_data_url(sheet(np.rint(pixels * 255).astype(np.uint8), columns))


def colormap_hex() -> list[str]:
    """The 63 colours of the maps' scale, from level 0 (most negative) to 62 (most positive)."""
    import matplotlib

    cmap = matplotlib.colormaps[COLORMAP]
    rgb = cmap(np.linspace(0, 1, LEVELS))[:, :3]
    return ["#" + "".join(f"{int(round(c * 255)):02x}" for c in row) for row in rgb]
