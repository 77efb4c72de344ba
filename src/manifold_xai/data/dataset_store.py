"""``data.zarr``: the dataset a run's classifiers are trained and explained on.

Arrays: ``images (sample, channel, y, x) float32``, ``labels (sample,) int64``,
``latents (sample, latent) float32`` (the point on the manifold model that produced each image),
``split (sample,) int8`` (0 train, 1 test). Attributes: ``approach``, ``n_classes``, ``image_shape``,
``latent_dim`` and approach-specific statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manifold_xai.data.splits import TEST, TRAIN
from manifold_xai.store import atomic_path, create_store, open_store, read_array, write_array


@dataclass
class Dataset:
    images: np.ndarray
    labels: np.ndarray
    latents: np.ndarray
    split: np.ndarray
    attrs: dict

    def part(self, which: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(images, labels, latents)`` of the TRAIN (0) or TEST (1) split."""
        m = self.split == which
        return self.images[m], self.labels[m], self.latents[m]

    @property
    def test_index(self) -> np.ndarray:
        return np.flatnonzero(self.split == TEST)


def write_dataset(path, ds: Dataset, samples_per_chunk: int = 1024) -> None:
    n = len(ds.images)
    for name in ("labels", "latents", "split"):
        if len(getattr(ds, name)) != n:
            raise ValueError(f"dataset {name} has {len(getattr(ds, name))} rows for {n} images")
    if not np.isfinite(ds.images).all() or not np.isfinite(ds.latents).all():
        raise ValueError("dataset images or latents contain NaN or inf values")
    with atomic_path(path) as tmp:
        group = create_store(tmp, ds.attrs)
        chunk = min(samples_per_chunk, max(n, 1))
        write_array(
            group,
            "images",
            ds.images.astype(np.float32),
            ("sample", "channel", "y", "x"),
            (chunk, *ds.images.shape[1:]),
        )
        write_array(group, "labels", ds.labels.astype(np.int64), ("sample",))
        if ds.latents.shape[1] > 0:  # source stores have no latents
            write_array(group, "latents", ds.latents.astype(np.float32), ("sample", "latent"))
        write_array(group, "split", ds.split.astype(np.int8), ("sample",))


def read_dataset(path) -> Dataset:
    group = open_store(path, required=("images", "labels", "split"))
    images = read_array(group, "images", path=path)
    latents = (
        read_array(group, "latents", path=path)
        if "latents" in group
        else np.zeros((len(images), 0), np.float32)
    )
    ds = Dataset(
        images,
        read_array(group, "labels", path=path),
        latents,
        read_array(group, "split", path=path),
        attrs=dict(group.attrs),
    )
    if not np.isfinite(ds.images).all():
        raise ValueError(f"{path}: images contain NaN or inf values")
    return ds


def read_rows(path, name: str, rows: np.ndarray | None = None) -> np.ndarray:
    """One array of a dataset store, only the given sample ``rows`` (all when None): reads only the
    chunks that hold them, so a job that needs the test latents never loads every image."""
    group = open_store(path, required=(name,))
    data = read_array(group, name, rows, path=path)
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        raise ValueError(f"{path}: {name} contains NaN or inf values")
    return data


def test_rows(path, n: int | None = None) -> np.ndarray:
    """Indices of the TEST samples of a dataset store (the first ``n`` of them when given: the samples
    that get tangent spaces, attributions and alignment, ``evaluation.n_test``)."""
    return np.flatnonzero(read_rows(path, "split") == TEST)[:n]


def train_rows(path) -> np.ndarray:
    """Indices of the TRAIN samples of a dataset store, in store order (``Dataset.part(TRAIN)``'s rows)."""
    return np.flatnonzero(read_rows(path, "split") == TRAIN)


def store_attrs(path) -> dict:
    return dict(open_store(path).attrs)
