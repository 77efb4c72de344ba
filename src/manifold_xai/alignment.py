"""Alignment of attributions with the tangent space, reduced with Dask and xarray.

For stores too large for a basis (``projection: matrix_free``) the fractions come from LSQR on the
decoder's JVPs and VJPs instead (``manifold_xai.matrix_free``), one sample at a time.

``alignment_dataset`` reads ``tangent.zarr`` and ``attributions/{regime}.zarr`` as Dask arrays chunked
like the tangent store (samples), computes per chunk the fraction in tangent space of every method's
attribution and of one seeded Gaussian random vector per sample, and returns an ``xarray.Dataset``:

- ``fraction (method, sample) float64``: ||P_T a|| / ||a|| (NaN where the attribution is zero);
- ``random_fraction (sample,) float64``: the same for N(0, I_d) vectors (the measured random baseline);
- ``rank (sample,)`` (-1 when projected matrix-free), ``predicted (sample,)``, ``label (sample,)``;
- attrs ``k``, ``d``, ``baseline`` = sqrt(k/d).

Select a method with ``ds["fraction"].sel({"method": "gradient"})``: the keyword form
``sel(method=...)`` is xarray's inexact-matching option, not the ``method`` dimension, and silently
returns every method.

``summary_rows`` turns per-run datasets into the rows of ``results/summary/alignment.csv``;
``manifold_xai.reductions.stack_runs`` stacks them into ``results/summary/alignment.zarr``.
``first_n_fractions`` projects vectors at the first n samples (training curves).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import dask.array as da
import numpy as np
import xarray as xr
from scipy import stats

from manifold_xai.runtime import dask_scheduler
from manifold_xai.store import open_store
from manifold_xai.tangent import fraction_in_tangent_space, random_baseline

SUMMARY_COLUMNS = ["dataset", "seed", "regime", "method", "n", "mean", "median", "ci_low", "ci_high",
                   "baseline", "random_mean"]  # fmt: skip


def _fraction_block(
    basis: np.ndarray, attribution: np.ndarray, sample: np.ndarray, seed: int
) -> np.ndarray:
    """``basis (n, k, d)``, ``attribution (m, n, d)``, ``sample (n,)`` indices → ``(m + 1, n)``: the m
    methods' fractions, then that of one Gaussian vector per sample (seeded by (seed, first sample of the
    chunk)), in one pass over the basis."""
    rng = np.random.default_rng([seed, int(sample[0])])
    gaussian = rng.standard_normal((1, basis.shape[0], basis.shape[2]), dtype=np.float32)
    return fraction_in_tangent_space(basis, np.concatenate([attribution, gaussian]))


def _matrix_free_fractions(
    latents, vectors, decoder, lsqr: dict, device, seed: int | None = None
) -> tuple:
    """Fractions by LSQR, one sample at a time (memory: one sample's vectors and the linearised decoder).

    ``latents (n, k)`` and ``vectors (m, n, ...)`` may be Zarr arrays (read one sample at a time).
    Returns ``(fraction (m, n), random_fraction (n,) or None, iterations (m [+ 1], n))``; with a ``seed``
    a seeded Gaussian vector per sample is projected too (the measured random baseline).
    """
    import torch

    from manifold_xai.matrix_free import project_matrix_free

    m, n = vectors.shape[:2]
    d = int(np.prod(vectors.shape[2:]))
    extra = 0 if seed is None else 1
    fraction, iterations = np.zeros((m + extra, n)), np.zeros((m + extra, n), np.int64)
    for i in range(n):
        rows = np.asarray(vectors[:, i]).reshape(m, d).astype(np.float64)
        if seed is not None:
            rows = np.concatenate([rows, np.random.default_rng([seed, i]).standard_normal((1, d))])
        z = torch.from_numpy(np.asarray(latents[i])).to(device)
        res = project_matrix_free(decoder, z, rows, damp=lsqr["damp"], atol=lsqr["atol"],
                                  max_iter=lsqr["max_iter"])  # fmt: skip
        fraction[:, i], iterations[:, i] = res.fraction, res.iterations
    return fraction[:m], (fraction[m] if extra else None), iterations


def first_n_fractions(
    tangent_path, n: int, *, decoder=None, lsqr: dict | None = None, device=None
) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping ``vectors (m, n, d)`` at the first ``n`` samples of a tangent store to their
    fractions in tangent space ``(m, n) float64`` (the basis is read once; a matrix-free store needs the
    decoder and lsqr settings, as in ``alignment_dataset``)."""
    matrix_free = open_store(tangent_path).attrs.get("projection") == "matrix_free"
    tangent = open_store(tangent_path, required=("latents",) if matrix_free else ("basis",))
    n_store = tangent["latents" if matrix_free else "basis"].shape[0]
    if n > n_store:
        raise ValueError(f"{tangent_path} has {n_store} tangent spaces, {n} requested")
    if matrix_free:
        if decoder is None or lsqr is None:
            raise ValueError(
                f"{tangent_path} needs matrix-free projection: pass the decoder and lsqr settings"
            )
        latents = np.asarray(tangent["latents"][:n])
        return lambda vectors: _matrix_free_fractions(latents, vectors, decoder, lsqr, device)[0]
    basis = np.asarray(tangent["basis"][:n], dtype=np.float32)
    return lambda vectors: fraction_in_tangent_space(basis, vectors.reshape(*vectors.shape[:2], -1))


def alignment_dataset(
    tangent_path,
    attribution_path,
    *,
    labels: np.ndarray,
    seed: int,
    threads: int = 1,
    decoder=None,
    lsqr: dict | None = None,
    device=None,
    dask_address: str | None = None,
) -> xr.Dataset:
    """Per-sample fractions for one run (see module docstring). ``labels (n,)`` are the true classes.

    A tangent store written for matrix-free projection (attrs ``projection: matrix_free``) holds no
    basis: then ``decoder`` (latents → images) and ``lsqr`` settings are required. The Dask graph runs
    on ``threads`` local threads, or on the distributed scheduler at ``dask_address``.
    """
    tangent = open_store(tangent_path, required=("sample_index",))
    attrib = open_store(attribution_path, required=("attribution", "predicted"))
    methods = list(attrib.attrs["methods"])
    if tangent.attrs.get("projection") == "matrix_free":
        tangent = open_store(tangent_path, required=("latents",))
        if decoder is None or lsqr is None:
            raise ValueError(
                f"{tangent_path} needs matrix-free projection: pass the decoder and lsqr settings"
            )
        k, d = int(tangent.attrs["k"]), int(tangent.attrs["d"])
        n = tangent["latents"].shape[0]
        _check_shapes(
            attrib["attribution"].shape, n, d, len(labels), tangent_path, attribution_path
        )
        fraction, random, iterations = _matrix_free_fractions(tangent["latents"], attrib["attribution"], decoder,
                                                              lsqr, device, seed)  # fmt: skip
        return _as_dataset(methods, fraction, random, np.full(n, -1), attrib, labels, k, d,
                           {"lsqr_iterations": (("lsqr_vector", "sample"), iterations)})  # fmt: skip
    tangent = open_store(tangent_path, required=("basis", "rank"))
    basis = da.from_zarr(tangent["basis"])  # (n, k, d), chunked by samples
    n, k, d = basis.shape
    attribution = da.from_zarr(attrib["attribution"])  # (m, n, c, h, w)
    _check_shapes(attribution.shape, n, d, len(labels), tangent_path, attribution_path)
    attribution = attribution.reshape(len(methods), n, d).rechunk(
        (len(methods), basis.chunks[0], d)
    )
    # Block i of the result needs sample-chunk i of both stores: index notation aligns them.
    attribution = attribution.rechunk((len(methods), basis.chunks[0], d))
    sample = da.arange(n, chunks=basis.chunks[0])
    both = da.blockwise(_fraction_block, "rn", basis, "nkd", attribution, "mnd", sample, "n", seed, None,
                        new_axes={"r": len(methods) + 1}, dtype=np.float64, concatenate=True)  # fmt: skip
    with dask_scheduler(threads, dask_address):
        both = both.compute()
    fraction, random = both[:-1], both[-1]
    return _as_dataset(
        methods, fraction, random, np.asarray(tangent["rank"][...]), attrib, labels, k, d
    )


def _check_shapes(attribution_shape, n, d, n_labels, tangent_path, attribution_path) -> None:
    if attribution_shape[1] != n or int(np.prod(attribution_shape[2:])) != d:
        raise ValueError(
            f"attributions {tuple(attribution_shape)} in {attribution_path} do not match the tangent store "
            f"{tangent_path} with n={n}, d={d}"
        )
    if n_labels != n:
        raise ValueError(f"{n_labels} labels for {n} tangent spaces")


def _as_dataset(methods, fraction, random, rank, attrib, labels, k, d, extra=None) -> xr.Dataset:
    return xr.Dataset(
        {
            "fraction": (("method", "sample"), fraction),
            "random_fraction": (("sample",), random),
            "rank": (("sample",), rank),
            "predicted": (("sample",), np.asarray(attrib["predicted"][...])),
            "label": (("sample",), np.asarray(labels)),
            **(extra or {}),
        },
        coords={"method": methods, "sample": np.arange(len(rank))},
        attrs={"k": k, "d": d, "baseline": random_baseline(k, d)},
    )


def bootstrap_ci(
    values: np.ndarray, *, n_resamples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean (scipy.stats.bootstrap)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return (math.nan, math.nan)
    res = stats.bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=level,
                          method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summary_rows(
    ds: xr.Dataset, *, dataset: str, seed: int, regime: str, n_resamples: int
) -> list[dict]:
    """One row per method: n, mean, median, 95% bootstrap CI, baseline sqrt(k/d), random-vector mean."""
    rows = []
    random_mean = float(np.nanmean(ds["random_fraction"].values))
    for method in ds["method"].values:
        values = ds["fraction"].sel({"method": method}).values
        values = values[np.isfinite(values)]
        low, high = bootstrap_ci(values, n_resamples=n_resamples, seed=seed)
        rows.append({
            "dataset": dataset, "seed": seed, "regime": regime, "method": str(method), "n": len(values),
            "mean": float(np.mean(values)) if len(values) else math.nan,
            "median": float(np.median(values)) if len(values) else math.nan,
            "ci_low": low, "ci_high": high, "baseline": float(ds.attrs["baseline"]),
            "random_mean": random_mean,
        })  # fmt: skip
    return rows
