"""The minimum detectable effect and the replicates a verdict needs (evaluation/power.py), against cases
computed by hand from t tables, and the columns they give every claim row."""

import math

import numpy as np
import pytest

from manifold_xai.evaluation.claims import CLAIM_COLUMNS, claims_table
from manifold_xai.evaluation.power import minimum_detectable_effect, replicates_needed
from manifold_xai.evaluation.verdicts import Measured, estimate


def test_minimum_detectable_effect_by_hand():
    # n = 10: t(0.975, 9) = 2.262, t(0.8, 9) = 0.883 -> (2.262 + 0.883) * 1 / sqrt(10) = 0.9946
    assert minimum_detectable_effect(1.0, 10) == pytest.approx(0.9946, abs=2e-4)
    # n = 2: t(0.975, 1) = 12.706, t(0.8, 1) = 1.376 -> 14.082 * 0.05 / sqrt(2) = 0.4979
    assert minimum_detectable_effect(0.05, 2) == pytest.approx(0.4979, abs=1e-3)
    # n = 5: t(0.975, 4) = 2.776, t(0.8, 4) = 0.941 -> 3.717 * 0.1 / sqrt(5) = 0.1662
    assert minimum_detectable_effect(0.1, 5) == pytest.approx(0.1662, abs=2e-4)
    assert math.isnan(minimum_detectable_effect(1.0, 1))
    assert math.isnan(minimum_detectable_effect(math.nan, 10))


def test_replicates_needed_by_hand():
    # sd 1, effect 0.9946: exactly the MDE at n = 10 (by the case above), not yet at n = 9
    # (t(0.975, 8) = 2.306, t(0.8, 8) = 0.889 -> 3.195 / 3 = 1.065)
    assert replicates_needed(0.995, 1.0) == 10
    assert replicates_needed(-0.995, 1.0) == 10  # the side does not matter
    # a large effect is decided by 2 replicates; none decides a zero effect
    assert replicates_needed(0.5, 0.05) == 2
    assert math.isnan(replicates_needed(0.0, 1.0)) and math.isnan(replicates_needed(0.1, math.nan))
    # normal approximation (1.96 + 0.84)^2 / 0.5^2 = 31.4: the t answer lies a few above it
    assert 32 <= replicates_needed(0.5, 1.0) <= 36
    n = replicates_needed(0.5, 1.0)
    assert minimum_detectable_effect(1.0, n) <= 0.5 < minimum_detectable_effect(1.0, n - 1)


def test_every_row_says_how_many_replicates_and_why_it_is_inconclusive():
    rows = []
    for seed, (grad, ig) in enumerate([(0.30, 0.31), (0.35, 0.34)]):  # a tiny, noisy difference
        rows += [
            {
                "dataset": "d",
                "seed": seed,
                "regime": "standard",
                "method": m,
                "mean": v,
                "random_mean": 0.1,
                "baseline": 0.11,
            }
            for m, v in (("gradient", grad), ("integrated_gradients", ig))
        ]
    table = claims_table(__import__("pandas").DataFrame(rows))
    assert list(table.columns) == CLAIM_COLUMNS
    row = table.set_index("claim").loc["post-hoc method above the gradient: integrated_gradients"]
    assert row["verdict"] == "inconclusive" and row["value"] == pytest.approx(0.0)
    assert row["reason"].startswith("interval straddles 0: tiny effect")
    assert math.isnan(row["n_needed"])  # a zero effect: no replicate count decides
    assert row["half_width"] == pytest.approx((row["ci_high"] - row["ci_low"]) / 2)
    held = table.set_index("claim").loc["random vectors slightly below sqrt(k/d)"]  # 0.01 twice
    assert held["verdict"] == "holds" and held["reason"] == ""


def test_a_spread_that_more_seeds_would_settle_gets_its_count_and_then_holds():
    rng = np.random.default_rng(3)
    effect, sd = 0.05, 0.04
    two = estimate(Measured([0.02, 0.09]), "greater", 0.0)
    assert two["verdict"] == "inconclusive" and "spread too large for n = 2" in two["reason"]
    needed = two["n_needed"]
    assert needed == replicates_needed(0.055, np.std([0.02, 0.09], ddof=1))
    many = estimate(Measured(effect + sd * rng.standard_normal(int(needed) * 3)), "greater", 0.0)
    assert many["verdict"] == "holds" and many["reason"] == ""


@pytest.mark.parametrize(
    ("kind", "values", "start"),
    [
        ("below", [0.01, 0.03], "interval straddles the margin 0.02"),
        ("equivalent", [0.015, 0.03], "interval straddles the margin ±0.02"),
        ("every_seed", [1.0, 0.6], "the ordering is the same (τ = 1) in 1 of 2 seeds"),
        ("greater", [0.3], "1 replicate: no interval (it needs at least 2)"),
    ],
)
def test_each_kind_states_its_reason(kind, values, start):
    row = estimate(Measured(values), kind, 0.02)
    assert row["verdict"] == "inconclusive" and row["reason"].startswith(start), row["reason"]


def test_equivalence_distance_is_measured_from_the_nearer_margin_on_either_side():
    # the same spread below zero as above it: the distance to ±0.02 is the same, and so is the count
    above = estimate(Measured([0.015, 0.03]), "equivalent", 0.02)
    below = estimate(Measured([-0.015, -0.03]), "equivalent", 0.02)
    assert below["verdict"] == above["verdict"] == "inconclusive"
    assert "distance -0.0025" in below["reason"] and "distance -0.0025" in above["reason"]
    assert below["n_needed"] == above["n_needed"]
