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


SEED_COLUMNS = ["n_seeds", "seed_mean", "seed_sd", "seed_ci_low", "seed_ci_high"]


def t_interval(values, level: float = 0.95) -> dict:
    """Mean of the finite ``values`` with a two-sided Student-t interval ``mean ± t · sd / sqrt(n)``:
    ``{"n", "mean", "sd", "low", "high"}`` (interval NaN for fewer than two values)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    sd = float(values.std(ddof=1)) if n >= 2 else np.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)) if n >= 2 else np.nan
    return {"n": n, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half}


def across_seeds(
    table: pd.DataFrame, by: list[str], value: str = "mean", level: float = 0.95
) -> pd.DataFrame:
    """The estimate across seeds: per group of ``by`` (a table with one row per seed and group), the
    mean of ``value`` over seeds with a t-interval over seeds (``SEED_COLUMNS``). Seeds, not images, are
    the replicates: each seed's model is an independent draw of the training procedure."""
    rows = []
    for key, group in table.groupby(by, sort=True, dropna=False):
        est = t_interval(group[value].to_numpy(), level)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n_seeds": est["n"],
                "seed_mean": est["mean"],
                "seed_sd": est["sd"],
                "seed_ci_low": est["low"],
                "seed_ci_high": est["high"],
            }
        )
    return pd.DataFrame(rows, columns=[*by, *SEED_COLUMNS])


def with_seed_columns(table: pd.DataFrame, by: list[str], value: str = "mean") -> pd.DataFrame:
    """``table`` with the across-seed columns (``across_seeds``) of its group on every row."""
    if table.empty:
        return table.assign(**{c: pd.Series(dtype=float) for c in SEED_COLUMNS})
    return table.merge(across_seeds(table, by, value), on=by, how="left")


def paired_by_seed(
    table: pd.DataFrame, by: list[str], column: str, a, b, value: str = "mean"
) -> pd.DataFrame:
    """Per group of ``by``: ``value`` at ``column == a`` minus at ``column == b``, paired by seed (seeds
    where both exist), with the t-interval over seeds: columns ``[*by, n_seeds, seed_mean, …]``."""
    left = table[table[column] == a].set_index([*by, "seed"])[value]
    right = table[table[column] == b].set_index([*by, "seed"])[value]
    diff = (left - right).dropna().rename(value).reset_index()
    return across_seeds(diff, by, value)
