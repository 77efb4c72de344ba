"""The claims table decides holds / fails / inconclusive by the stated rule on synthetic runs whose
verdicts are known, with intervals across seeds computed independently (numpy + scipy's t quantile)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from manifold_xai.evaluation.claims import claims_table, verdict
from manifold_xai.evaluation.reductions import paired_by_seed


def test_verdict_rule():
    assert (
        verdict(0.01, 0.2) == "holds"
        and verdict(-0.2, -0.01) == "fails"
        and verdict(-0.1, 0.1) == "inconclusive"
    )
    assert verdict(np.nan, np.nan) == "inconclusive"
    assert verdict(-0.01, 0.015, "equivalent", 0.02) == "holds"
    assert (
        verdict(0.03, 0.05, "equivalent", 0.02) == "fails"
        and verdict(-0.05, -0.03, "equivalent", 0.02) == "fails"
    )
    assert verdict(0.01, 0.03, "equivalent", 0.02) == "inconclusive"
    assert (
        verdict(-0.05, 0.01, "below", 0.02) == "holds"
        and verdict(0.03, 0.1, "below", 0.02) == "fails"
    )


def alignment_table(
    means: dict[tuple[str, str], list[float]], random=0.1, baseline=0.11
) -> pd.DataFrame:
    """``means[(regime, method)]`` = per-seed mean fractions."""
    rows = []
    for (regime, method), values in means.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "dataset": "synthetic",
                    "seed": seed,
                    "regime": regime,
                    "method": method,
                    "mean": value,
                    "random_mean": random,
                    "baseline": baseline,
                }
            )
    return pd.DataFrame(rows)


def by_claim(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["claim"]: row for _, row in table.iterrows()}


def test_alignment_claims_hold_fail_and_stay_inconclusive_as_constructed():
    grad = [0.30, 0.32, 0.31, 0.29]
    means = {
        ("standard", "gradient"): grad,
        ("standard", "input_x_gradient"): [0.40, 0.43, 0.41, 0.42],  # clearly above: holds
        ("standard", "integrated_gradients"): [
            0.25,
            0.26,
            0.27,
            0.24,
        ],  # clearly below the gradient: fails
        ("standard", "smoothgrad"): [
            0.35,
            0.25,
            0.36,
            0.28,
        ],  # noisy around the gradient: inconclusive
        ("adversarial", "gradient"): [0.60, 0.70, 0.66, 0.68],
    }
    claims = by_claim(claims_table(alignment_table(means)))
    assert claims["gradient above the random baseline"]["verdict"] == "holds"
    assert claims["post-hoc method above the gradient: input_x_gradient"]["verdict"] == "holds"
    assert claims["post-hoc method above the gradient: integrated_gradients"]["verdict"] == "fails"
    assert claims["post-hoc method above the gradient: smoothgrad"]["verdict"] == "inconclusive"
    assert claims["MNIST32 ordering: IxG > IG"]["verdict"] == "holds"
    assert (
        claims["MNIST32 ordering: IG ≳ SmoothGrad"]["verdict"] == "inconclusive"
    )  # SmoothGrad is noisy
    assert claims["MNIST32 ordering: SmoothGrad ≈ gradient"]["verdict"] == "inconclusive"
    assert (
        claims["random vectors slightly below sqrt(k/d)"]["verdict"] == "holds"
    )  # constant across seeds
    robust = claims["robust model above standard"]
    diff = np.array([0.60, 0.70, 0.66, 0.68]) - np.array(grad)
    half = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / 2
    assert (
        robust["verdict"] == "holds" and robust["n"] == 4 and robust["interval"] == "t over 4 seeds"
    )
    assert (robust["ci_low"], robust["ci_high"]) == pytest.approx(
        (diff.mean() - half, diff.mean() + half)
    )


def test_one_seed_gives_no_interval_across_seeds():
    claims = by_claim(claims_table(alignment_table({("standard", "gradient"): [0.3]})))
    row = claims["gradient above the random baseline"]
    assert row["verdict"] == "inconclusive" and np.isnan(row["ci_low"]) and row["n"] == 1


def test_comparisons_are_paired_by_seed():
    """Seed effects shared by both methods cancel: paired, the difference is certain; unpaired it is not."""
    seed_effect = np.array([0.0, 0.2, -0.15, 0.1])
    table = alignment_table(
        {
            ("standard", "gradient"): list(0.3 + seed_effect),
            ("standard", "input_x_gradient"): list(0.32 + seed_effect + [0.0, 0.001, -0.001, 0.0]),
        }
    )
    row = by_claim(claims_table(table))["post-hoc method above the gradient: input_x_gradient"]
    assert row["verdict"] == "holds" and row["ci_high"] - row["ci_low"] < 0.01
    paired = paired_by_seed(table, ["dataset", "regime"], "method", "input_x_gradient", "gradient")
    assert paired["seed_mean"].iloc[0] == pytest.approx(0.02)


def curve_table(values_per_seed: dict[str, list[list[float]]]) -> pd.DataFrame:
    rows = []
    for regime, seeds in values_per_seed.items():
        for seed, values in enumerate(seeds):
            rows += [
                {
                    "dataset": "synthetic",
                    "seed": seed,
                    "regime": regime,
                    "method": "gradient",
                    "step": 10 * i,
                    "mean": v,
                }
                for i, v in enumerate(values)
            ]
    return pd.DataFrame(rows)


def test_curve_claims():
    curves = curve_table(
        {
            "standard": [
                [0.1, 0.5, 0.3],
                [0.1, 0.55, 0.32],
                [0.12, 0.5, 0.31],
            ],  # rises, then declines
            "adversarial": [
                [0.1, 0.5, 0.2],
                [0.1, 0.6, 0.3],
                [0.1, 0.55, 0.25],
            ],  # declines by 0.3: fails "no decline"
            "random_labels": [[0.1, 0.2, 0.15], [0.1, 0.19, 0.16], [0.1, 0.21, 0.14]],
        }
    )
    alignment = alignment_table(
        {(r, "gradient"): [0.3, 0.3, 0.3] for r in ("standard", "adversarial", "random_labels")},
        random=0.1,
    )
    claims = by_claim(claims_table(alignment, curves=curves))
    assert claims["training curve rises (standard)"]["verdict"] == "holds"
    assert claims["training curve then declines (standard)"]["verdict"] == "holds"
    assert claims["no decline under adversarial training"]["verdict"] == "fails"
    assert claims["random-label models stay above random"]["verdict"] == "holds"
    flat = curve_table({"adversarial": [[0.1, 0.5, 0.5], [0.1, 0.6, 0.6], [0.1, 0.55, 0.549]]})
    claims = by_claim(claims_table(alignment, curves=flat))
    assert claims["no decline under adversarial training"]["verdict"] == "holds"


def test_roar_claim_uses_repeats_with_one_seed_and_names_the_competitor():
    rows = []
    accuracy = {
        "tangent": [0.2, 0.25, 0.22],
        "input_x_gradient": [0.5, 0.55, 0.52],
        "gradient": [0.8, 0.82, 0.79],
        "blurred_gradient": [0.1, 0.1, 0.1],
    }  # the control is not one of the paper's methods
    for method, values in accuracy.items():
        for repeat, a in enumerate(values):
            for fraction in (0.3, 0.6):
                rows.append(
                    {
                        "dataset": "synthetic",
                        "seed": 0,
                        "method": method,
                        "fraction": fraction,
                        "repeat": repeat,
                        "accuracy": a,
                    }
                )
    claims = by_claim(
        claims_table(
            alignment_table({("standard", "gradient"): [0.3]}), roar_repeats=pd.DataFrame(rows)
        )
    )
    row = claims["ROAR: tangent-space importance hurts most"]
    assert "input_x_gradient − tangent" in row["statistic"] and row["verdict"] == "holds"
    assert row["interval"] == "t over 3 retrainings, 1 seed" and row["value"] == pytest.approx(0.3)
    rows = [{**r, "accuracy": 1 - r["accuracy"]} if r["method"] == "tangent" else r for r in rows]
    row = by_claim(
        claims_table(
            alignment_table({("standard", "gradient"): [0.3]}), roar_repeats=pd.DataFrame(rows)
        )
    )["ROAR: tangent-space importance hurts most"]
    assert row["verdict"] == "fails"


def test_theorem1_claims_use_an_exact_binomial_interval():
    claims = claims_table(
        alignment_table({("standard", "gradient"): [0.3]}),
        theorem1={"p_grad_in_tangent": 0.5, "p_grad_orthogonal": 0.3, "n_test": 2000},
    )
    rows = by_claim(claims)
    inside = rows["Theorem 1: gradient in the tangent space on half the curve"]
    assert inside["value"] == pytest.approx(0.5 - 0.49)
    ci = stats.binomtest(1000, 2000).proportion_ci(0.95, method="exact")
    assert (inside["ci_low"], inside["ci_high"]) == pytest.approx((ci.low - 0.49, ci.high - 0.49))
    assert inside["verdict"] == "inconclusive"  # 0.5 ± 0.022 straddles 0.49
    assert rows["Theorem 1: gradient orthogonal on the other half"]["verdict"] == "fails"


def test_every_declared_claim_is_complete_and_cites_a_row_of_the_paper_table():
    from conftest import REPO
    from manifold_xai.evaluation.claims import CLAIMS, TABLES
    from manifold_xai.evaluation.verdicts import RULES

    section = (REPO / "docs" / "paper.md").read_text().split("## 15.", 1)[1]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)
    for claim in CLAIMS:
        assert claim.table in TABLES and claim.kind in RULES, claim.id
        cited = [r.strip() for r in claim.paper_row.split(",") if r.strip()]
        assert all(r in rows for r in cited), (claim.id, cited)
    beyond = {c.id for c in CLAIMS if not c.paper_row}
    assert beyond == {
        "ordering_survives_source",
        "off_robustness_rises_with_alignment",
        "robust_off_more_than_on",
        "robust_relatively_off_robust",
        "normal_above_standard",
        "normal_closes_most_of_gap",
        "tangent_above_standard",
        "normal_costs_less_accuracy",
        "tangent_costs_less_accuracy",
        "tangent_part_flips_sooner",
    }


def test_a_claim_is_one_entry_and_goes_from_inconclusive_to_holds_with_seeds():
    """A new entry (an existing statistic, another kind) yields its row; the evaluator decides it."""
    from manifold_xai.evaluation import claim_statistics as s
    from manifold_xai.evaluation.claims import CLAIMS, Claim, claims_for

    entry = Claim(
        "ig_above_gradient_again",
        "a declared claim: {method} above the gradient",
        "alignment",
        lambda tables, dataset: [{"method": "integrated_gradients"}],
        s.method_minus_gradient,
        "mean fraction: {method} − gradient",
        paper_row="15",
    )
    two = alignment_table(
        {("standard", "gradient"): [0.30, 0.35], ("standard", "integrated_gradients"): [0.40, 0.41]}
    )
    (row,) = [
        r for r in claims_for({"alignment": two}, CLAIMS + (entry,)) if "declared" in r["claim"]
    ]
    assert row["claim"] == "a declared claim: integrated_gradients above the gradient"
    assert row["statistic"] == "mean fraction: integrated_gradients − gradient"
    assert row["verdict"] == "inconclusive"  # t with 1 degree of freedom: 0.08 ± 0.51
    five = alignment_table(
        {
            ("standard", "gradient"): [0.30, 0.35, 0.31, 0.33, 0.29],
            ("standard", "integrated_gradients"): [0.40, 0.41, 0.39, 0.44, 0.38],
        }
    )
    (row,) = claims_for({"alignment": five}, (entry,))
    assert row["verdict"] == "holds" and row["n"] == 5 and row["value"] == pytest.approx(0.088)
