"""How many replicates a claim's verdict needs: the minimum detectable effect at the replicates a row has,
and the replicates a decisive verdict would need at the observed effect and spread.

Both use the one-sample t-test that the claims' 95% t-intervals invert (two-sided α = 0.05) with power
0.8: at ``n`` replicates of standard deviation ``sd``, an effect (the statistic's distance from the
boundary its claim is decided at) of at least

    MDE(n) = (t_{1−α/2, n−1} + t_{power, n−1}) · sd / √n

is detected with probability ``power``; ``n_needed`` is the smallest ``n ≥ 2`` with MDE(n) ≤ |effect|.
Since the interval's half-width ``t_{1−α/2, n−1} · sd / √n`` is below MDE(n), an inconclusive row always
has |effect| < MDE(n).
"""

from __future__ import annotations

import math

from scipy import stats

ALPHA = 0.05
POWER = 0.8
N_MAX = 1_000_000  # beyond this the answer is "not with replicates"


def minimum_detectable_effect(
    sd: float, n: int, alpha: float = ALPHA, power: float = POWER
) -> float:
    """MDE at ``n`` replicates of standard deviation ``sd`` (NaN for n < 2 or an undefined sd)."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    return float(
        (stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)) * sd / math.sqrt(n)
    )


def replicates_needed(
    effect: float, sd: float, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest n ≥ 2 with MDE(n) ≤ |effect|: an integer, or NaN where no replicate count decides
    (zero or undefined effect, undefined sd, more than ``N_MAX``)."""
    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0:
        return math.nan
    if minimum_detectable_effect(sd, 2, alpha, power) <= abs(effect):
        return 2
    if minimum_detectable_effect(sd, N_MAX, alpha, power) > abs(effect):
        return math.nan
    low, high = 2, N_MAX  # MDE(low) > |effect| >= MDE(high); MDE falls with n
    while high - low > 1:
        mid = (low + high) // 2
        if minimum_detectable_effect(sd, mid, alpha, power) <= abs(effect):
            high = mid
        else:
            low = mid
    return high
