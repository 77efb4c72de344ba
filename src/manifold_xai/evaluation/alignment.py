"""Alignment of attributions with the tangent space, reduced with Dask and xarray.

Tangent stores open through the one tangent-space interface (``manifold_xai.tangent.space``): stored
bases, or, for stores too large for a basis (``projection: matrix_free``), the same subspace from the
decoder's JVPs and VJPs (``manifold_xai.tangent.matrix_free``), one sample at a time.

``alignment_dataset`` reads ``tangent.zarr`` and ``attributions/{regime}.zarr`` as Dask arrays chunked
like the tangent store (samples), computes per chunk the fraction in tangent space of every method's
attribution and of one Gaussian random vector per sample (seeded by run seed and sample, whatever the
chunking), and returns an ``xarray.Dataset``:

- ``fraction (method_name, sample) float64``: ||P_T a|| / ||a|| (NaN where the attribution is zero or the
  tangent space is undefined: rank 0 or not converged);
- ``random_fraction (sample,) float64``: the same for N(0, I_d) vectors (the measured random baseline);
- ``rank (sample,)``, ``converged (sample,) bool``, ``predicted (sample,)``, ``label (sample,)``;
- attrs ``k``, ``d``, ``baseline`` = sqrt(k/d).

Select a method with ``ds["fraction"].sel(method_name="gradient")``: the dimension is not called
``method``, which is the name of ``sel``'s own inexact-matching keyword.

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
from manifold_xai.tangent.bases import fraction_in_tangent_space
from manifold_xai.tangent.space import BasisTangentSpace, TangentSpace, open_tangent_space

SUMMARY_COLUMNS = [
    "dataset",
    "seed",
    "regime",
    "method",
    "n",
    "n_undefined",
    "mean",
    "median",
    "ci_low",
    "ci_high",
    "baseline",
    "random_mean",
]


def gaussian_vectors(seed: int, samples, d: int) -> np.ndarray:
    """``(len(samples), d) float64`` N(0, I_d) vectors, row ``i`` drawn from ``default_rng([seed, samples[i]])``:
    the same vector for a sample however the samples are chunked or streamed."""
    return np.stack([np.random.default_rng([seed, int(i)]).standard_normal(d) for i in samples])


def _fraction_block(
    basis: np.ndarray, attribution: np.ndarray, sample: np.ndarray, seed: int
) -> np.ndarray:
    """``basis (n, k, d)``, ``attribution (m, n, d)``, ``sample (n,)`` indices → ``(m + 1, n)``: the m
    methods' fractions, then that of one Gaussian vector per sample (``gaussian_vectors``), in one pass
    over the basis."""
    gaussian = gaussian_vectors(seed, sample, basis.shape[2]).astype(np.float32)[None]
    return fraction_in_tangent_space(basis, np.concatenate([attribution, gaussian]))


def first_n_space(tangent_path, n: int, *, manifold=None, device=None) -> TangentSpace:
    """The tangent spaces of the first ``n`` samples of a tangent store, stored bases read once into
    memory; a matrix-free store needs the manifold model (``tangent.space.open_tangent_space``)."""
    space = open_tangent_space(tangent_path, manifold=manifold, device=device)
    if n > space.n:
        raise ValueError(f"{tangent_path} has {space.n} tangent spaces, {n} requested")
    if isinstance(space, BasisTangentSpace):
        samples = np.arange(n)
        space = BasisTangentSpace(
            np.asarray(space.bases(samples), dtype=np.float32), space.rank(samples)
        )
    return space


def first_n_fractions(
    tangent_path, n: int, *, manifold=None, device=None
) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping ``vectors (m, n, d)`` at the first ``n`` samples of a tangent store to their
    fractions in tangent space ``(m, n) float64`` (NaN where undefined; ``first_n_space``)."""
    space = first_n_space(tangent_path, n, manifold=manifold, device=device)
    samples = np.arange(n)
    return lambda vectors: space.fractions(vectors, samples)


def alignment_dataset(
    tangent_path,
    attribution_path,
    *,
    labels: np.ndarray,
    seed: int,
    threads: int = 1,
    manifold=None,
    device=None,
    dask: dict | None = None,
) -> xr.Dataset:
    """Per-sample fractions for one run (see module docstring). ``labels (n,)`` are the true classes.

    The tangent store opens as a ``TangentSpace`` (``open_tangent_space``): stored bases are reduced with
    Dask over their Zarr chunks (on ``threads`` local threads, or the distributed scheduler that
    ``dask`` names, ``{"address": "tcp://host:8786", "timeout": "30s"}``: ``runtime.dask_scheduler``);
    a matrix-free store, which needs the ``manifold`` model, one sample at a time.
    """
    space = open_tangent_space(tangent_path, manifold=manifold, device=device)
    attrib = open_store(attribution_path, required=("attribution", "predicted"))
    methods = list(attrib.attrs["methods"])
    n, d = space.n, space.d
    _check_shapes(attrib["attribution"].shape, n, d, len(labels), tangent_path, attribution_path)
    if isinstance(space, BasisTangentSpace):
        basis = da.from_zarr(space.basis)  # (n, k, d), chunked by samples
        # Block i of the result needs sample-chunk i of both stores: index notation aligns them.
        attribution = da.from_zarr(attrib["attribution"]).reshape(len(methods), n, d)
        attribution = attribution.rechunk((len(methods), basis.chunks[0], d))
        sample = da.arange(n, chunks=basis.chunks[0])
        both = da.blockwise(
            _fraction_block,
            "rn",
            basis,
            "nkd",
            attribution,
            "mnd",
            sample,
            "n",
            seed,
            None,
            new_axes={"r": len(methods) + 1},
            dtype=np.float64,
            concatenate=True,
        )
        with dask_scheduler(threads, **(dask or {})):
            both = both.compute()
    else:
        both = np.empty((len(methods) + 1, n))
        for i in range(n):
            rows = np.asarray(attrib["attribution"][:, i]).reshape(len(methods), 1, d)
            gaussian = gaussian_vectors(seed, [i], d)[None]
            both[:, i] = space.fractions(np.concatenate([rows, gaussian]), [i])[:, 0]
    return _as_dataset(methods, both[:-1], both[-1], space, attrib, labels)


def _check_shapes(attribution_shape, n, d, n_labels, tangent_path, attribution_path) -> None:
    if attribution_shape[1] != n or int(np.prod(attribution_shape[2:])) != d:
        raise ValueError(
            f"attributions {tuple(attribution_shape)} in {attribution_path} do not match the tangent store "
            f"{tangent_path} with n={n}, d={d}"
        )
    if n_labels != n:
        raise ValueError(f"{n_labels} labels for {n} tangent spaces")


def _as_dataset(methods, fraction, random, space, attrib, labels) -> xr.Dataset:
    # rows of undefined tangent spaces are NaN already; the mask makes that exact for any projection
    defined = space.defined()
    fraction, random = np.where(defined, fraction, np.nan), np.where(defined, random, np.nan)
    return xr.Dataset(
        {
            "fraction": (("method_name", "sample"), fraction),
            "random_fraction": (("sample",), random),
            "rank": (("sample",), space.rank()),
            "converged": (("sample",), space.converged()),
            "predicted": (("sample",), np.asarray(attrib["predicted"][...])),
            "label": (("sample",), np.asarray(labels)),
        },
        coords={"method_name": methods, "sample": np.arange(space.n)},
        attrs={"k": space.k, "d": space.d, "baseline": space.baseline},
    )


def bootstrap_ci(
    values: np.ndarray, *, n_resamples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean (scipy.stats.bootstrap)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return (math.nan, math.nan)
    res = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summary_rows(
    ds: xr.Dataset,
    *,
    dataset: str,
    seed: int,
    regime: str,
    n_resamples: int,
    correct_only: bool = False,
) -> list[dict]:
    """One row per method: n (samples with a fraction), n_undefined (samples whose tangent space is
    undefined: rank 0 or not converged; left out of every statistic), mean, median, 95% bootstrap CI over
    images, baseline sqrt(k/d), random-vector mean. ``correct_only``: only test images whose prediction
    equals the label count (the paper's medical notebooks)."""
    rows = []
    if correct_only:
        ds = ds.isel(sample=np.flatnonzero(ds["predicted"].values == ds["label"].values))
    undefined = int((~defined_samples(ds)).sum())
    random = ds["random_fraction"].values
    random_mean = float(np.nanmean(random)) if np.isfinite(random).any() else math.nan
    for method in ds["method_name"].values:
        values = ds["fraction"].sel({"method_name": method}).values
        values = values[np.isfinite(values)]
        low, high = bootstrap_ci(values, n_resamples=n_resamples, seed=seed)
        rows.append(
            {
                "dataset": dataset,
                "seed": seed,
                "regime": regime,
                "method": str(method),
                "n": len(values),
                "n_undefined": undefined,
                "mean": float(np.mean(values)) if len(values) else math.nan,
                "median": float(np.median(values)) if len(values) else math.nan,
                "ci_low": low,
                "ci_high": high,
                "baseline": float(ds.attrs["baseline"]),
                "random_mean": random_mean,
            }
        )
    return rows


def defined_samples(ds: xr.Dataset) -> np.ndarray:
    """``(sample,) bool``: tangent space defined (rank > 0 and converged; stores without the variables:
    all defined)."""
    defined = np.ones(ds.sizes["sample"], dtype=bool)
    if "rank" in ds:
        defined &= ds["rank"].values != 0
    if "converged" in ds:
        defined &= ds["converged"].values.astype(bool)
    return defined
