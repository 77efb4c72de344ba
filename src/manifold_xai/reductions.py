"""Reductions across runs with xarray (Dask-backed when the runs are opened lazily).

- ``stack_runs``: per-run datasets → one dataset with real dimensions ``dataset, seed, regime`` (plus
  whatever the runs have: ``method``, ``sample``, ``step``), NaN where a run lacks a coordinate (fewer
  samples, steps a run never reached).
- ``mean_ci``: mean over a dimension with a t-interval, NaN-aware.
- ``seed_band``: mean across seeds and a central quantile band (Figures 6 and 15: "mean and 90% band").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

RUN_DIMS = ("dataset", "seed", "regime")


def stack_runs(runs: dict[tuple[str, int, str], xr.Dataset], variables: list[str]) -> xr.Dataset:
    """Stack ``variables`` of each run (keyed by ``(dataset, seed, regime)``) along new dimensions
    ``dataset, seed, regime``; other coordinates are outer-joined (padded with NaN). Each run's
    ``attrs["baseline"]`` becomes the variable ``baseline (dataset, seed, regime)``."""
    keys = sorted(runs)
    parts = []
    for key in keys:
        part = runs[key][variables]
        if "baseline" in runs[key].attrs:
            part = part.assign(baseline=float(runs[key].attrs["baseline"]))
        parts.append(part)
    stacked = xr.concat(parts, dim="run", join="outer", combine_attrs="drop", fill_value=np.nan)
    index = pd.MultiIndex.from_tuples(keys, names=list(RUN_DIMS))
    stacked = stacked.assign_coords(xr.Coordinates.from_pandas_multiindex(index, "run"))
    return stacked.unstack("run").transpose(*RUN_DIMS, ...)


def mean_ci(values: xr.DataArray, dim: str, level: float = 0.95) -> xr.Dataset:
    """Mean of ``values`` over ``dim`` (NaN skipped) with a two-sided Student-t interval:
    ``mean ± t_{(1+level)/2, n-1} · sd / sqrt(n)``. Returns ``mean, ci_low, ci_high, n``; the interval is
    NaN where fewer than two values are finite."""
    n = values.count(dim)
    mean = values.mean(dim, skipna=True)
    sd = values.std(dim, ddof=1, skipna=True)
    t = xr.apply_ufunc(
        lambda k: stats.t.ppf(0.5 + level / 2, np.maximum(k - 1, 1)), n, dask="allowed"
    )
    half = (t * sd / np.sqrt(n)).where(n >= 2)
    return xr.Dataset({"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n})


def seed_band(values: xr.DataArray, level: float = 0.9) -> xr.Dataset:
    """Across ``seed``: the mean and the central ``level`` quantile band (linear interpolation between
    seeds; with two seeds a 90% band spans 90% of their range). Returns ``mean, low, high``."""
    q = values.quantile([0.5 - level / 2, 0.5 + level / 2], dim="seed", skipna=True)
    return xr.Dataset(
        {
            "mean": values.mean("seed", skipna=True),
            "low": q.isel(quantile=0, drop=True),
            "high": q.isel(quantile=1, drop=True),
        }
    )
