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

Every row also says how far it is from a decision (``sample_size``): the interval's half-width, the
minimum detectable effect at its replicates and the replicates a decisive verdict would need at the
observed effect and spread (``evaluation.power``), and why an inconclusive row is one: a single
replicate, a *tiny effect* (more than ``TINY_EFFECT_REPLICATES`` replicates would be needed, or none
would do), a *spread too large* for the replicates it has, a straddled margin (kinds ``below`` and
``equivalent``), or an ordering that holds in some seeds only (``every_seed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from manifold_xai.evaluation.power import minimum_detectable_effect, replicates_needed
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
    ``interval``: ``(value, low, high, n, how, sd)`` where the statistic brings its own interval (``sd``:
    the spread of one replicate, for the minimum detectable effect);
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
        value, low, high, n, over, sd = measured.interval
        est = {"mean": value, "low": low, "high": high, "n": n, "sd": sd}
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
        **sample_size(est, kind, margin, decided, per_seed),
    }


def distance_to_boundary(value: float, kind: str, margin: float) -> float:
    """How far the statistic lies from the point its verdict turns at (signed: positive on the side the
    claim asks for): 0 for ``greater``, ``margin`` for ``below``, ``±margin`` for ``equivalent``."""
    if kind == "greater":
        return value
    if kind == "below":
        return margin - value
    if kind == "equivalent":
        return margin - abs(value)
    return math.nan


TINY_EFFECT_REPLICATES = 100  # an effect that needs more replicates than this is called tiny


def sample_size(est: dict, kind: str, margin: float, decided: str, per_seed) -> dict:
    """A row's ``half_width``, ``mde`` (minimum detectable effect at its replicates), ``n_needed``
    (replicates for a decisive verdict at the observed effect and spread; ``evaluation.power``) and, for
    an inconclusive row, the ``reason``."""
    n, sd = est["n"], est.get("sd", math.nan)
    half = (est["high"] - est["low"]) / 2
    distance = distance_to_boundary(est["mean"], kind, margin)
    mde = minimum_detectable_effect(sd, n)
    needed = replicates_needed(distance, sd)
    reason = ""
    if decided == "inconclusive":
        reason = _reason(kind, margin, n, est["mean"], distance, mde, needed, per_seed)
    return {"half_width": half, "mde": mde, "n_needed": needed, "reason": reason}


def _reason(kind, margin, n, value, distance, mde, needed, per_seed) -> str:
    if kind == "every_seed":
        same = sum(v == 1.0 for v in per_seed)
        return (
            "no seed gives an ordering"
            if not len(per_seed)
            else f"the ordering is the same (τ = 1) in {same} of {len(per_seed)} seeds"
        )
    if not math.isfinite(value):
        return "no finite value"
    if n < 2:
        return f"{n} replicate{'' if n == 1 else 's'}: no interval (it needs at least 2)"
    place = {"greater": "0", "below": f"the margin {margin:g}"}.get(kind, f"the margin ±{margin:g}")
    tiny = not math.isfinite(needed) or needed > TINY_EFFECT_REPLICATES
    why = "tiny effect" if tiny else f"spread too large for n = {n}"
    decide = (
        f"about {int(needed)} replicates would decide"
        if math.isfinite(needed)
        else "no number of replicates would decide"
    )
    return (
        f"interval straddles {place}: {why} (distance {distance:+.3g}, minimum detectable "
        f"{mde:.3g} at n = {n}; {decide})"
    )
