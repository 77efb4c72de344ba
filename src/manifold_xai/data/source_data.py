"""What every image source returns (``SourceData``) and the helpers the source kinds share: resizing and a
stratified train/test split.

Images are ``(n, c, s, s) float32`` in [0, 1], labels ``(n,) int64``, split ``(n,) int8`` with
``TRAIN = 0`` and ``TEST = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from manifold_xai.data.splits import TEST, TRAIN


@dataclass
class SourceData:
    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    n_classes: int
    description: str
    # ``(n, k) float32`` coordinates of each image on a known manifold (the torus's angles); None for
    # real images, whose manifold is unknown.
    latents: np.ndarray | None = None
    # The files the images were read from whose digest is recorded (path -> sha256), for provenance;
    # None where the loader has no fixed copy to check against.
    files: dict[str, str] | None = None

    def __post_init__(self):
        n = len(self.images)
        if self.latents is not None and len(self.latents) != n:
            raise ValueError("source latents and images differ in length")
        if self.images.ndim != 4:
            raise ValueError(f"source images must be (n, c, h, w), got shape {self.images.shape}")
        if len(self.labels) != n or len(self.split) != n:
            raise ValueError("source images, labels and split differ in length")
        if not np.isfinite(self.images).all():
            raise ValueError("source images contain NaN or inf values")
        if n == 0:
            raise ValueError("source has no images")

    def part(self, which: int) -> tuple[np.ndarray, np.ndarray]:
        mask = self.split == which
        return self.images[mask], self.labels[mask]


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased) resize of ``(n, c, h, w)`` images to ``(n, c, size, size)`` (or
    ``(n, c, *size)`` for a ``(height, width)`` pair), clipped to [0, 1]."""
    hw = (size, size) if isinstance(size, int) else tuple(size)
    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if tuple(t.shape[-2:]) != hw:
        t = F.interpolate(t, size=hw, mode="bilinear", align_corners=False, antialias=True)
    return t.clamp_(0.0, 1.0).numpy()


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """``(n,) int8`` split marking a stratified ``test_fraction`` of the samples as TEST."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    _, test_idx = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    split = np.full(len(labels), TRAIN, dtype=np.int8)
    split[test_idx] = TEST
    return split
