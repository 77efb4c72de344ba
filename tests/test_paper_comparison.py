"""The run beside the paper: models.csv (training quality against the paper's values) and
paper_comparison.csv (inside/outside the interval at its edges; the qualitative rows from claims)."""

import math

import pandas as pd
import pytest

from manifold_xai.config_facts import paper_dataset
from manifold_xai.evaluation.paper_comparison import (
    REACHED_TOLERANCE,
    comparison,
    inside,
    model_quality,
    reached,
)


def test_inside_at_the_interval_edges():
    assert inside(0.30, 0.32, 0.30) == "yes" and inside(0.30, 0.32, 0.32) == "yes"  # closed
    assert inside(0.30, 0.32, 0.2999) == "no" and inside(0.30, 0.32, 0.3201) == "no"
    assert inside(math.nan, math.nan, 0.31) == ""  # one seed: no interval, no answer


def test_reached_at_the_tolerance():
    assert reached(0.968 - REACHED_TOLERANCE, 0.968, "higher") == "yes"
    assert reached(0.968 - REACHED_TOLERANCE - 1e-6, 0.968, "higher") == "no"
    assert reached(0.0103 + REACHED_TOLERANCE, 0.0103, "lower") == "yes"
    assert reached(0.0103 + REACHED_TOLERANCE + 1e-6, 0.0103, "lower") == "no"
    assert reached(0.5, 0.3118, None) == ""  # a fraction is no training target


def test_paper_dataset_is_real_mnist_at_32_generated():
    def config(kind, size=32, approach="generative"):
        return {
            "datasets": {"d": {"approach": approach, "source": {"kind": kind, "image_size": size}}}
        }

    assert paper_dataset(config("mnist_packaged"), "d") and paper_dataset(config("mnist"), "d")
    assert not paper_dataset(config("digits"), "d")  # the 8x8 stand-in
    assert not paper_dataset(config("mnist", 28), "d")
    assert not paper_dataset(config("mnist", approach="reconstructive"), "d")


def _models():
    labellers = {
        ("m", s): {"test_accuracy_originals": a, "test_accuracy_reconstructions": 0.7}
        for s, a in enumerate([0.95, 0.97, 0.96])
    }
    classifiers = {
        ("m", s, r): {"test_accuracy": 1 - e}
        for s in range(3)
        for r, e in (("standard", 0.012), ("adversarial", 0.05))
    }
    classifiers[("digits", 0, "standard")] = {"test_accuracy": 0.9}
    return model_quality(labellers, classifiers, {"m"})


def test_models_table_states_the_gap_and_whether_the_regime_was_reached():
    table = _models().set_index(["dataset", "model", "quantity", "seed"])
    real = table.loc[("m", "labeller", "accuracy on held-out real digits", 0)]
    assert real["seed_mean"] == pytest.approx(0.96) and real["paper_row"] == "7"
    assert real["gap"] == pytest.approx(0.96 - 0.968) and real["reached"] == "no"
    standard = table.loc[("m", "classifier standard", "test error", 1)]
    assert (
        standard["value"] == pytest.approx(0.012) and standard["reached"] == "yes"
    )  # 0.0103 + 0.005
    robust = table.loc[("m", "classifier adversarial", "test error", 2)]
    assert robust["paper_value"] == 0.0218 and robust["reached"] == "no"
    stand_in = table.loc[("digits", "classifier standard", "test error", 0)]
    assert math.isnan(stand_in["paper_value"]) and stand_in["reached"] == ""  # not the paper's data
    recon = table.loc[("m", "labeller", "accuracy on their reconstructions", 0)]
    assert math.isnan(recon["paper_value"])  # the paper gives no such number


def test_comparison_rows_for_numbers_and_for_claims():
    alignment = pd.DataFrame(
        [
            {
                "dataset": "m",
                "seed": s,
                "regime": "standard",
                "method": "gradient",
                "mean": v,
                "random_mean": r,
            }
            for s, (v, r) in enumerate([(0.30, 0.20), (0.32, 0.21), (0.31, 0.22)])
        ]
    )
    claims = pd.DataFrame(
        [
            {
                "claim": "training curve rises (standard)",
                "dataset": "m",
                "statistic": "peak − step 0",
                "value": 0.2,
                "ci_low": 0.1,
                "ci_high": 0.3,
                "n": 3,
                "paper_value": "rapid rise",
                "verdict": "holds",
                "paper_row": "38",
            },
            {
                "claim": "gradient above the random baseline",
                "dataset": "m",
                "statistic": "x",
                "value": 0.2,
                "ci_low": 0.1,
                "ci_high": 0.3,
                "n": 3,
                "paper_value": "0.2156",
                "verdict": "holds",
                "paper_row": "15, 11",
            },
        ]
    )
    table = comparison(alignment, _models(), claims, ["m"]).set_index("quantity")
    gradient = table.loc["mean fraction of the gradient, standard"]
    assert gradient["paper_row"] == "15" and gradient["value"] == pytest.approx(0.31)
    assert gradient["inside"] == "yes"  # 0.3118 in 0.31 ± 0.025
    random = table.loc["mean fraction of random N(0, I) vectors"]
    assert random["inside"] == "no"  # 0.0962 below 0.21 ± 0.025
    assert table.loc["training curve rises (standard)"]["inside"] == "yes"
    assert (
        "gradient above the random baseline" not in table.index
    )  # rows 15, 11: numbers, not claims
    assert "mean fraction of the gradient, l2-robust" not in table.index  # no adversarial run
    assert comparison(alignment, _models(), claims, []).empty
