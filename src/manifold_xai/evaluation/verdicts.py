"""From a claim's measured statistic to its row's numbers and verdict.

A statistic is measured per seed (``Measured.per_seed``) and estimated across seeds: mean and 95% Student-t
interval over seeds (``reductions.t_interval``). Where a dataset has a single seed the interval is over
that run's replicates (``Measured.replicates``: ROAR retrainings, test images) and the ``interval``
column says so: such an interval leaves out the model-to-model variation. A statistic with an interval
of its own (Theorem 1's Clopper–Pearson) gives it as ``Measured.interval``.

Verdict rule (``verdict``), for a 95% interval ``[low, high]``:

- ``greater`` (the claim says the statistic is > 0): **holds** if ``low > 0``, **fails** if ``high < 0``;
- ``below`` (the claim says the statistic is < ``margin``, e.g. "no decline"): holds if
  ``high < margin``, fails if ``low > margin``;
- ``equivalent`` (the claim says ≈, within ``± margin``): holds if the interval lies inside
  ``(−margin, margin)``, fails if it lies entirely outside it;
- ``every_seed`` (the claim says the statistic equals 1 in every seed, e.g. Kendall's τ of an
  ordering): holds if it does in every seed, fails if it does in none;
- otherwise, and whenever the interval is undefined (fewer than two replicates), **inconclusive**.

So a claim holds only when the interval excludes the opposite, and fails only when the interval excludes
the claim. ``EQUIVALENCE_MARGIN`` (0.02 in fraction units) is the size of difference treated as
negligible; it is stated in each row's ``rule``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from manifold_xai.evaluation.reductions import t_interval

EQUIVALENCE_MARGIN = 0.02
RULES = {
    "greater": "holds if the 95% CI > 0, fails if < 0",
    "below": "holds if the 95% CI < {m}, fails if > {m}",
    "equivalent": "holds if the 95% CI lies within ±{m}, fails if entirely outside",
    "every_seed": (
        "holds if the ordering is the same (τ = 1) in every seed, fails if it differs in every seed"
    ),
}


@dataclass
class Measured:
    """A claim's statistic on one dataset.

    ``per_seed``: one value per seed (non-finite values are dropped); ``replicates`` (with
    ``replicate_name``): the within-run values that give the interval when there is one seed;
    ``interval``: ``(value, low, high, n, how)`` where the statistic brings its own interval;
    ``fields``: values the claim's texts name (``{closest}``, ``{ref:g}``)."""

    per_seed: object = ()
    replicates: object = None
    replicate_name: str = ""
    interval: tuple | None = None
    fields: dict = field(default_factory=dict)


def verdict(low: float, high: float, kind: str = "greater", margin: float = 0.0) -> str:
    """``holds`` / ``fails`` / ``inconclusive`` for a 95% interval (see the module docstring)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if kind == "greater":
        return "holds" if low > 0 else "fails" if high < 0 else "inconclusive"
    if kind == "below":
        return "holds" if high < margin else "fails" if low > margin else "inconclusive"
    if kind == "equivalent":
        if -margin < low and high < margin:
            return "holds"
        return "fails" if low > margin or high < -margin else "inconclusive"
    raise ValueError(f"unknown claim kind {kind!r}")


def every_seed_verdict(per_seed) -> str:
    """``every_seed``: holds if every seed's value is 1, fails if none is, inconclusive otherwise
    (and with no seed)."""
    same = [v == 1.0 for v in per_seed]
    if not same:
        return "inconclusive"
    return "holds" if all(same) else "fails" if not any(same) else "inconclusive"


def estimate(measured: Measured, kind: str, margin: float) -> dict:
    """The row's ``value, ci_low, ci_high, interval, n, verdict, rule`` of a measured statistic."""
    per_seed = np.asarray([v for v in measured.per_seed if np.isfinite(v)], dtype=np.float64)
    if measured.interval is not None:
        value, low, high, n, over = measured.interval
        est = {"mean": value, "low": low, "high": high, "n": n}
    elif len(per_seed) >= 2 or measured.replicates is None:
        est, over = t_interval(per_seed), f"t over {len(per_seed)} seeds"
    else:
        est = t_interval(measured.replicates)
        est["mean"] = float(per_seed[0]) if len(per_seed) else math.nan
        over = f"t over {est['n']} {measured.replicate_name}, 1 seed"
    decided = (
        every_seed_verdict(per_seed)
        if kind == "every_seed"
        else verdict(est["low"], est["high"], kind, margin)
    )
    return {
        "value": est["mean"],
        "ci_low": est["low"],
        "ci_high": est["high"],
        "interval": over,
        "n": est["n"],
        "verdict": decided,
        "rule": RULES[kind].format(m=margin),
    }
