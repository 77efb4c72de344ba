"""Image sources by kind (``source.kind`` in the config); each returns a ``SourceData``.

Images are ``(n, c, s, s) float32`` in [0, 1], labels ``(n,) int64``, split ``(n,) int8`` with
``TRAIN = 0`` and ``TEST = 1``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from manifold_xai.data.splits import TEST, TRAIN  # noqa: F401 (re-exported)


@dataclass
class SourceData:
    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    n_classes: int
    description: str

    def __post_init__(self):
        n = len(self.images)
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


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of ``(n, c, h, w)`` images to ``(n, c, size, size)``, clipped to [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if t.shape[-1] != size or t.shape[-2] != size:
        t = F.interpolate(
            t, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
    return t.clamp_(0.0, 1.0).numpy()


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """``(n,) int8`` split marking a stratified ``test_fraction`` of the samples as TEST."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    _, test_idx = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    split = np.full(len(labels), TRAIN, dtype=np.int8)
    split[test_idx] = TEST
    return split


def load_digits_source(
    image_size: int = 32, test_fraction: float = 0.2, split_seed: int = 0
) -> SourceData:
    """scikit-learn's handwritten digits (1797 images, 8×8, 17 grey levels) scaled to [0, 1] and
    resized to ``image_size``: a small offline analogue of MNIST32 that ships with a dependency."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    labels = digits.target.astype(np.int64)
    return SourceData(
        images=resize_images(images, image_size),
        labels=labels,
        split=stratified_split(labels, test_fraction, split_seed),
        n_classes=10,
        description=f"sklearn digits 8x8 resized to {image_size}x{image_size}",
    )


def _torchvision_split(dataset_class, root, download: bool, name: str, **kwargs):
    """``(images uint8 (n, h, w), labels (n,))`` of the train and test split of a torchvision dataset
    stored under ``root`` (downloaded there first when ``download``), with an error naming the path."""
    from pathlib import Path

    root = Path(root).expanduser()
    parts = []
    for train in (True, False):
        try:
            ds = dataset_class(str(root), train=train, download=download, **kwargs)
        except RuntimeError as e:  # torchvision: "Dataset not found. You can use download=True ..."
            raise FileNotFoundError(
                f"{name}: no {name} data under {root} ({e}). Put the raw files there (see README) or set "
                f"`download: true` in the source block on a machine with internet access"
            ) from e
        parts.append((np.asarray(ds.data), np.asarray(ds.targets, dtype=np.int64)))
    return parts


def _from_splits(parts, image_size: int, n_classes: int, description: str, transpose: bool = False):
    (train_x, train_y), (test_x, test_y) = parts
    images = np.concatenate([train_x, test_x])  # (n, h, w) grey or (n, h, w, c) colour, uint8
    if transpose:  # EMNIST images are stored transposed (column-major)
        images = images.transpose(0, 2, 1)
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    images = images.astype(np.float32) / 255.0
    split = np.concatenate(
        [np.full(len(train_y), TRAIN, np.int8), np.full(len(test_y), TEST, np.int8)]
    )
    return SourceData(images=resize_images(images, image_size), labels=np.concatenate([train_y, test_y]),
                      split=split, n_classes=n_classes, description=description)  # fmt: skip


def load_mnist_source(root: str, download: bool = False, image_size: int = 32) -> SourceData:
    """MNIST via ``torchvision.datasets.MNIST`` (raw idx files under ``root/MNIST/raw``): 60000 train and
    10000 test images, 28×28, scaled to [0, 1] and resized to ``image_size`` (the paper's MNIST32: 32)."""
    from torchvision.datasets import MNIST

    parts = _torchvision_split(MNIST, root, download, "MNIST")
    return _from_splits(parts, image_size, 10, f"MNIST 28x28 resized to {image_size}x{image_size}")


def load_emnist_source(
    root: str, split: str = "balanced", download: bool = False, image_size: int = 128,
    classes: list[int] | None = None,
) -> SourceData:  # fmt: skip
    """EMNIST via ``torchvision.datasets.EMNIST`` (raw idx files under ``root/EMNIST/raw``), oriented
    upright, scaled to [0, 1] and resized to ``image_size``. ``classes``: keep only these labels,
    renumbered 0..len-1 in the given order (the paper used a subset of 60 classes)."""
    from torchvision.datasets import EMNIST

    parts = _torchvision_split(EMNIST, root, download, "EMNIST", split=split)
    n_classes = int(max(y.max() for _, y in parts)) + 1
    if classes is not None:
        lookup = {c: i for i, c in enumerate(classes)}
        parts = [(x[np.isin(y, classes)], np.array([lookup[v] for v in y[np.isin(y, classes)]], np.int64))
                 for x, y in parts]  # fmt: skip
        n_classes = len(classes)
    desc = f"EMNIST {split} ({n_classes} classes) resized to {image_size}x{image_size}"
    return _from_splits(parts, image_size, n_classes, desc, transpose=True)


def load_cifar10_source(root: str, download: bool = False, image_size: int = 32) -> SourceData:
    """CIFAR-10 via ``torchvision.datasets.CIFAR10`` (the python pickles under
    ``root/cifar-10-batches-py``): 50000 train and 10000 test RGB images, ``(n, 3, s, s)`` in [0, 1]."""
    from torchvision.datasets import CIFAR10

    parts = _torchvision_split(CIFAR10, root, download, "CIFAR-10")
    return _from_splits(parts, image_size, 10, f"CIFAR-10 RGB resized to {image_size}x{image_size}")


SOURCES: dict[str, Callable[..., SourceData]] = {
    "digits": load_digits_source,
    "mnist": load_mnist_source,
    "emnist": load_emnist_source,
    "cifar10": load_cifar10_source,
}


def load_source(spec: dict) -> SourceData:
    """Load the source described by a config ``source:`` block (``kind`` plus that kind's options)."""
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind not in SOURCES:
        raise ValueError(f"unknown source kind {kind!r}; known: {sorted(SOURCES)}")
    try:
        inspect.signature(SOURCES[kind]).bind(**spec)
    except TypeError as e:
        raise ValueError(f"source kind {kind!r}: {e}") from e
    return SOURCES[kind](**spec)
