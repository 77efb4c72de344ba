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
    store at ``reference_path``, at the same test points (see the module docstring), with each source's
    per-image ``dimension (source, sample) float64`` (NaN where a spectrum rule could not decide),
    ``dimension_reason (source, sample) int8`` and ``angle_at_reference_k (source, sample)``: the mean
    principal angle between the reference and the source's leading ``reference rank`` directions (its
    singular vectors where the store holds them, whatever dimension it estimated)."""
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
    at_k = np.full((len(stores), n), np.nan)
    ranks = np.zeros((len(stores), n), np.int64)
    dimension = np.full((len(stores), n), np.nan)
    reason = np.zeros((len(stores), n), np.int8)
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
            if "singular_vectors" in store:
                vectors = np.asarray(store["singular_vectors"][start:stop])
                usable = np.minimum(ref_rank, vectors.shape[1])
                a = principal_angles_deg(vectors, ref_basis, usable, usable)
                at_k[i, start:stop] = _mean_or_nan(a)
                dimension[i, start:stop] = np.asarray(store["dimension"][start:stop])
                reason[i, start:stop] = np.asarray(store["dimension_reason"][start:stop])
            else:
                same = rank == ref_rank
                at_k[i, start:stop] = np.where(same, _mean_or_nan(a), np.nan)
                dimension[i, start:stop] = rank
    return xr.Dataset(
        {
            "angle": (("source", "sample", "angle_index"), angles),
            "angle_at_reference_k": (("source", "sample"), at_k),
            "rank": (("source", "sample"), ranks),
            "dimension": (("source", "sample"), dimension),
            "dimension_reason": (("source", "sample"), reason),
            "reference_rank": (("sample",), np.asarray(ref["rank"][...])),
        },
        coords={"source": list(stores), "sample": np.arange(n)},
        attrs={
            "reference": str(ref.attrs.get("tangent_source", "reference")),
            "reference_k": int(k_ref),
            "k": [int(s["basis"].shape[1]) for s in stores.values()],
            "dimension_rule": [_dimension_rule(s) for s in stores.values()],
            "reference_dimension_rule": _dimension_rule(ref),
            "sample_index": ref_index.tolist(),
        },
    )


def _mean_or_nan(angles: np.ndarray) -> np.ndarray:
    """Row means of ``angles (n, j)`` over their defined entries, NaN for a row with none."""
    defined = np.isfinite(angles).any(axis=1)
    out = np.full(len(angles), np.nan)
    out[defined] = np.nanmean(angles[defined], axis=1)
    return out


def _dimension_rule(store) -> str:
    """How a store's per-image dimension was read: a spectrum rule (denoiser, FLIPD), else fixed."""
    rule = store.attrs.get("k_rule")
    if rule == "levina_bickel":
        return "maximum likelihood k (nearest training images), denoiser's vectors"
    return f"spectrum, {rule}" if rule else "fixed k (numerical rank), not an estimate"


DIMENSION_COLUMNS = [
    "dataset",
    "seed",
    "source",
    "rule",
    "true_dimension",
    "n",
    "n_decided",
    "dimension_median",
    "dimension_q25",
    "dimension_q75",
    "share_exact",
    "share_within_1",
    "angle_at_true_k_deg",
    "k",
    "reference",
    "undecided_reasons",
    "published",
]


def dimension_rows(
    ds: xr.Dataset, *, dataset: str, seed: int, published: str = "", mle_neighbours: int = 0
) -> list[dict]:
    """Rows of ``results/summary/intrinsic_dimension.csv`` from a ``tangent_angles.zarr`` dataset: per
    source (the reference first, then the compared sources, then the Levina-Bickel estimate where the
    dataset holds ``mle``) the per-image dimension over the test images against the true dimension
    (the reference's rank: the renderer's m, or the decoder's numerical rank of the generated data):
    median and quartiles of the decided images, the share of all images estimated exactly and within
    ±1 (undecided ones count as wrong), the mean principal angle at the true k, and why images were
    undecided."""
    from manifold_xai.tangent.dimension import REASONS

    truth = ds["reference_rank"].values.astype(np.float64)
    entries = [
        (
            ds.attrs["reference"],
            ds.attrs.get("reference_dimension_rule", ""),
            int(ds.attrs["reference_k"]),
            truth,
            np.zeros(len(truth), np.int8),
            np.zeros(len(truth)),
        )
    ]
    rules = ds.attrs.get("dimension_rule", [""] * ds.sizes["source"])
    for i, source in enumerate(ds["source"].values):
        sel = {"source": source}
        entries.append(
            (
                str(source),
                rules[i],
                int(ds.attrs["k"][i]),
                ds["dimension"].sel(sel).values,
                ds["dimension_reason"].sel(sel).values,
                ds["angle_at_reference_k"].sel(sel).values,
            )
        )
    if "mle" in ds:
        mle = ds["mle"].values
        entries.append(
            (
                "levina_bickel",
                f"maximum likelihood, {mle_neighbours} nearest training images, rounded",
                0,
                np.round(mle),
                np.where(np.isfinite(mle), 0, 4).astype(np.int8),
                np.full(len(mle), np.nan),
            )
        )
    true_dimension = float(np.median(truth)) if len(truth) else math.nan
    rows = []
    for source, rule, k, dimension, reason, at_k in entries:
        dimension = np.asarray(dimension, np.float64)
        decided = dimension[np.isfinite(dimension)]
        quartiles = np.percentile(decided, [25, 50, 75]) if len(decided) else [math.nan] * 3
        error = np.abs(dimension - truth)
        codes, counts = np.unique(np.asarray(reason)[np.asarray(reason) != 0], return_counts=True)
        rows.append(
            {
                "dataset": dataset,
                "seed": seed,
                "source": source,
                "rule": rule,
                "true_dimension": true_dimension,
                "n": len(dimension),
                "n_decided": len(decided),
                "dimension_median": float(quartiles[1]),
                "dimension_q25": float(quartiles[0]),
                "dimension_q75": float(quartiles[2]),
                "share_exact": float((error == 0).mean()) if len(error) else math.nan,
                "share_within_1": float((error <= 1).mean()) if len(error) else math.nan,
                "angle_at_true_k_deg": float(np.nanmean(at_k))
                if np.isfinite(at_k).any()
                else math.nan,
                "k": k,
                "reference": ds.attrs["reference"],
                "undecided_reasons": "; ".join(
                    f"{REASONS[int(c)]}: {m}" for c, m in zip(codes, counts, strict=True)
                ),
                "published": published,
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
