"""Tangent spaces from several sources at the same test points, and how far they are apart.

Sources (``tangent_sources.sources`` in the config): ``exact`` (the torus renderer's Jacobian), ``vae``
(a decoder's Jacobian: the dataset's own manifold, or for the torus a β-TCVAE trained on its images and
taken at the encoder mean) and ``local_pca`` (``manifold_xai.geometry.local_pca_tangents`` on the
training images). Every source writes a tangent store of the same layout (``manifold_xai.tangent.bases``).

- ``local_pca_store``: write the local-PCA tangent store of the test images.
- ``angles_to_reference``: principal angles, sample by sample, between each source's tangent space
  and the reference's (the dataset's own source: exact for the torus, the decoder's otherwise) as an
  ``xarray.Dataset`` ``angle (source, sample, angle_index) float64`` (degrees, ascending, NaN-padded
  where a rank is lower) and ``rank (source, sample)``.
- ``accuracy_rows``: the rows of ``results/summary/tangent_accuracy.csv``: per source, the mean over
  test points of the mean principal angle (with its 95% bootstrap CI) and of the largest angle.
- ``dimension_rows``: the rows of ``results/summary/intrinsic_dimension.csv``: per source, the
  dimension of its tangent space at each test image (numerical rank, or the denoiser's k).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from manifold_xai.evaluation.alignment import bootstrap_ci
from manifold_xai.store import open_store
from manifold_xai.tangent.basis_store import write_basis_store
from manifold_xai.tangent.geometry import local_pca_bases, principal_angles_deg

ACCURACY_COLUMNS = [
    "dataset",
    "seed",
    "source",
    "principal_angle_mean_deg",
    "principal_angle_max_deg",
    "ci_low",
    "ci_high",
    "reference",
    "k",
    "reference_k",
    "n",
]


def local_pca_store(
    path,
    queries: np.ndarray,
    reference: np.ndarray,
    sample_index: np.ndarray,
    image_shape,
    *,
    k: int,
    neighbours: int,
    batch_size: int = 256,
    chunk_mb: float = 32.0,
) -> dict:
    """Local-PCA tangent spaces at ``queries (n, d)`` (test images) from ``reference (r, d)`` (training
    images), written as a tangent store with attrs ``tangent_source: local_pca``, ``neighbours``."""
    n, d = len(queries), int(np.prod(image_shape))
    if k >= d:
        raise ValueError(
            f"local PCA dimension k={k} must be smaller than the image dimension d={d}"
        )
    if neighbours + 1 > len(reference):
        raise ValueError(
            f"local PCA with {neighbours} neighbours needs more than {neighbours} training "
            f"images, the dataset has {len(reference)}"
        )

    def bases_of(start: int, stop: int):
        return local_pca_bases(queries[start:stop], reference, k, neighbours, batch_size)

    attrs = {
        "image_shape": list(image_shape),
        "tangent_source": "local_pca",
        "neighbours": neighbours,
        "n_reference": len(reference),
    }
    return write_basis_store(
        path,
        bases_of,
        n=n,
        k=k,
        d=d,
        sample_index=sample_index,
        attrs=attrs,
        batch=batch_size,
        chunk_mb=chunk_mb,
    )


def _basis_store(path):
    store = open_store(path, required=("sample_index",))
    if store.attrs.get("projection") == "matrix_free":
        raise ValueError(
            f"{path} was written for matrix-free projection and holds no bases; principal angles "
            f"need stored bases (tangent.projection: basis)"
        )
    return open_store(path, required=("basis", "rank", "sample_index"))


def angles_to_reference(
    reference_path, source_paths: dict[str, str], chunk: int = 256
) -> xr.Dataset:
    """Principal angles between each of ``source_paths`` (source name → tangent store) and the tangent
    store at ``reference_path``, at the same test points (see the module docstring)."""
    ref = _basis_store(reference_path)
    n, k_ref = ref["basis"].shape[:2]
    ref_index = np.asarray(ref["sample_index"][...])
    stores = {name: _basis_store(path) for name, path in source_paths.items()}
    for name, store in stores.items():
        if not np.array_equal(np.asarray(store["sample_index"][...]), ref_index):
            raise ValueError(
                f"{source_paths[name]} holds tangent spaces at other samples than {reference_path}"
            )
    width = max([min(k_ref, s["basis"].shape[1]) for s in stores.values()], default=1)
    angles = np.full((len(stores), n, width), np.nan)
    ranks = np.zeros((len(stores), n), np.int64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        ref_basis, ref_rank = (
            np.asarray(ref["basis"][start:stop]),
            np.asarray(ref["rank"][start:stop]),
        )
        for i, store in enumerate(stores.values()):
            rank = np.asarray(store["rank"][start:stop])
            a = principal_angles_deg(
                np.asarray(store["basis"][start:stop]), ref_basis, rank, ref_rank
            )
            angles[i, start:stop, : a.shape[1]] = a
            ranks[i, start:stop] = rank
    return xr.Dataset(
        {
            "angle": (("source", "sample", "angle_index"), angles),
            "rank": (("source", "sample"), ranks),
            "reference_rank": (("sample",), np.asarray(ref["rank"][...])),
        },
        coords={"source": list(stores), "sample": np.arange(n)},
        attrs={
            "reference": str(ref.attrs.get("tangent_source", "reference")),
            "reference_k": int(k_ref),
            "k": [int(s["basis"].shape[1]) for s in stores.values()],
            "dimension_rule": [_dimension_rule(s) for s in stores.values()],
            "reference_dimension_rule": _dimension_rule(ref),
        },
    )


def _dimension_rule(store) -> str:
    """How a store's per-image dimension (``rank``) was read: the denoiser's rule, else the rank."""
    rule = store.attrs.get("k_rule")
    return f"spectrum, {rule}" if rule else "numerical rank of a fixed k"


DIMENSION_COLUMNS = [
    "dataset",
    "seed",
    "source",
    "rule",
    "k",
    "dimension_mean",
    "dimension_median",
    "dimension_min",
    "dimension_max",
    "share_at_k",
    "n",
]


def dimension_rows(ds: xr.Dataset, *, dataset: str, seed: int) -> list[dict]:
    """Rows of ``results/summary/intrinsic_dimension.csv`` from a ``tangent_angles.zarr`` dataset: per
    source (the reference first) the per-image dimension of its tangent spaces (a decoder's numerical
    rank of its fixed k; the denoiser's k read from its spectrum) over the test images, and the share of
    images at the store's k (for the denoiser: at ``max_k``, where the estimate is capped)."""
    entries = [
        (
            ds.attrs["reference"],
            ds.attrs.get("reference_dimension_rule", ""),
            int(ds.attrs["reference_k"]),
            ds["reference_rank"].values,
        )
    ]
    rules = ds.attrs.get("dimension_rule", [""] * ds.sizes["source"])
    for i, source in enumerate(ds["source"].values):
        rank = ds["rank"].sel({"source": source}).values
        entries.append((str(source), rules[i], int(ds.attrs["k"][i]), rank))
    rows = []
    for source, rule, k, rank in entries:
        rank = np.asarray(rank, np.int64)
        rows.append(
            {
                "dataset": dataset,
                "seed": seed,
                "source": source,
                "rule": rule,
                "k": k,
                "dimension_mean": float(rank.mean()) if len(rank) else math.nan,
                "dimension_median": float(np.median(rank)) if len(rank) else math.nan,
                "dimension_min": int(rank.min()) if len(rank) else 0,
                "dimension_max": int(rank.max()) if len(rank) else 0,
                "share_at_k": float((rank >= k).mean()) if len(rank) else math.nan,
                "n": len(rank),
            }
        )
    return rows


def accuracy_rows(ds: xr.Dataset, *, dataset: str, seed: int, n_resamples: int) -> list[dict]:
    """One row per compared source (see the module docstring and ``ACCURACY_COLUMNS``)."""
    rows = []
    for i, source in enumerate(ds["source"].values):
        angles = ds["angle"].sel({"source": source}).values  # (sample, angle_index)
        defined = np.isfinite(angles).any(axis=1)
        mean = np.nanmean(angles[defined], axis=1) if defined.any() else np.zeros(0)
        largest = np.nanmax(angles[defined], axis=1) if defined.any() else np.zeros(0)
        low, high = bootstrap_ci(mean, n_resamples=n_resamples, seed=seed)
        rows.append(
            {
                "dataset": dataset,
                "seed": seed,
                "source": str(source),
                "principal_angle_mean_deg": float(mean.mean()) if len(mean) else math.nan,
                "principal_angle_max_deg": float(largest.mean()) if len(largest) else math.nan,
                "ci_low": low,
                "ci_high": high,
                "reference": ds.attrs["reference"],
                "k": int(ds.attrs["k"][i]),
                "reference_k": int(ds.attrs["reference_k"]),
                "n": int(defined.sum()),
            }
        )
    return rows
