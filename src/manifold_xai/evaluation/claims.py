"""The paper's claims, declared in one table (``CLAIMS``) and tested on a finished run by one evaluator
(``claims_table``): one row per (claim, dataset) with a verdict.

Every claim is turned into a **statistic whose sign or size the claim fixes** (a difference such as
"gradient fraction − random-vector fraction", paired by seed), measured per seed by a small named function
of ``claim_statistics`` and estimated across seeds with the verdict rule of ``verdicts``. An entry
declares the claim's statement, the summary table it reads, the condition under which it applies to a
dataset (and with which parameters: one row each), the statistic, its kind and margin, the paper's value
and the row of docs/paper.md §15 it comes from. Adding a claim is one entry here, plus a statistic
function where none fits.

Rows come in the order of ``TABLES``, then dataset (sorted), then declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from manifold_xai.evaluation import claim_statistics as s
from manifold_xai.evaluation.verdicts import EQUIVALENCE_MARGIN, estimate, verdict

__all__ = ["CLAIMS", "CLAIM_COLUMNS", "Claim", "claims_for", "claims_table", "verdict"]

CLAIM_COLUMNS = [
    "claim",
    "dataset",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "interval",
    "n",
    "paper_value",
    "verdict",
    "rule",
    "half_width",
    "mde",
    "n_needed",
    "reason",
    "paper_row",
]
# The summary tables claims read, in the order their rows appear.
TABLES = (
    "alignment",
    "models",
    "tangent_fractions",
    "curves",
    "roar_repeats",
    "robustness",
    "counterfactuals",
    "theorem1",
)


@dataclass(frozen=True)
class Claim:
    """One claim. ``statement`` (the ``claim`` column) and ``describes`` (the ``statistic`` column) may
    name the condition's parameters and the statistic's ``fields`` as ``{name}``."""

    id: str
    statement: str
    table: str
    applies: Callable  # (tables, dataset) -> parameter sets, one row each ([]: does not apply)
    statistic: Callable  # (tables, dataset, **params) -> Measured | None
    describes: str
    kind: str = "greater"
    margin: float = 0.0
    paper_value: str = ""
    paper_row: str = ""  # the row(s) of docs/paper.md §15; "" for claims beyond the paper


M = EQUIVALENCE_MARGIN
CLAIMS = (
    Claim(
        "gradient_above_random",
        "gradient above the random baseline",
        "alignment",
        s.has_standard_gradient,
        s.gradient_minus_random,
        "mean fraction: gradient − random vectors (standard)",
        paper_value="0.3118 − 0.0962 = 0.2156 (MNIST32)",
        paper_row="15, 11",
    ),
    Claim(
        "random_below_baseline",
        "random vectors slightly below sqrt(k/d)",
        "alignment",
        s.has_standard_gradient,
        s.baseline_minus_random,
        "mean fraction of N(0, I) vectors − sqrt(k/d)",
        paper_value="0.0988 − 0.0962 = 0.0026 (MNIST32)",
        paper_row="1, 11",
    ),
    Claim(
        "posthoc_above_gradient",
        "post-hoc method above the gradient: {method}",
        "alignment",
        s.each_posthoc_method,
        s.method_minus_gradient,
        "mean fraction: {method} − gradient (standard, paired by seed)",
        paper_value="> 0 on every dataset (paper text); SmoothGrad ≈ gradient on MNIST32",
        paper_row="25",
    ),
    Claim(
        "ixg_above_ig",
        "MNIST32 ordering: IxG > IG",
        "alignment",
        s.has_figure3_ordering,
        s.ixg_minus_ig,
        "mean fraction: input_x_gradient − {ig}",
        paper_value="0.40 vs ≈0.34 (KDE modes)",
        paper_row="18, 19, 20",
    ),
    Claim(
        "ig_above_smoothgrad",
        "MNIST32 ordering: IG ≳ SmoothGrad",
        "alignment",
        s.has_figure3_ordering,
        s.ig_minus_smoothgrad,
        "mean fraction: {ig} − smoothgrad",
        paper_value="≈0.34 vs ≈0.28–0.31",
        paper_row="19, 20",
    ),
    Claim(
        "smoothgrad_equals_gradient",
        "MNIST32 ordering: SmoothGrad ≈ gradient",
        "alignment",
        s.has_figure3_ordering,
        s.smoothgrad_minus_gradient,
        "mean fraction: smoothgrad − gradient",
        kind="equivalent",
        margin=M,
        paper_value="≈ 0 (SmoothGrad does not beat the gradient)",
        paper_row="19",
    ),
    Claim(
        "robust_above_standard",
        "robust model above standard",
        "alignment",
        s.has_robust_gradient,
        s.robust_minus_standard,
        "mean gradient fraction: adversarial − standard (paired by seed)",
        paper_value="0.6754 − 0.3118 = 0.3636 (MNIST32)",
        paper_row="15, 16",
    ),
    Claim(
        "normal_above_standard",
        "normal-only adversarial training above standard",
        "alignment",
        s.has_gradient_of("adversarial_normal"),
        s.regime_minus_standard("adversarial_normal"),
        "mean gradient fraction: adversarial_normal − standard (paired by seed)",
        paper_value="not in the paper (Zhang et al.: the normal-space part of the adversarial risk)",
    ),
    Claim(
        "normal_closes_most_of_gap",
        "normal-only training closes most of the standard→robust gap",
        "alignment",
        s.has_gap_regime("adversarial_normal"),
        s.gap_share_minus_half("adversarial_normal"),
        "(adversarial_normal − standard) / (adversarial − standard) of the gradient's mean fraction "
        "− 0.5 (per seed)",
        paper_value="not in the paper",
    ),
    Claim(
        "tangent_above_standard",
        "tangent-only adversarial training above standard",
        "alignment",
        s.has_gradient_of("adversarial_tangent"),
        s.regime_minus_standard("adversarial_tangent"),
        "mean gradient fraction: adversarial_tangent − standard (paired by seed)",
        paper_value="not in the paper",
    ),
    Claim(
        "ordering_survives_source",
        "Figure 3's method ordering survives the {source} tangent source",
        "tangent_fractions",
        s.each_other_source,
        s.ordering_tau_per_seed,
        "Kendall τ of the methods' mean fractions: {own} vs {source} (standard)",
        kind="every_seed",
        paper_value="the paper measures under its autoencoders only",
    ),
    Claim(
        "no_decline_adversarial",
        "no decline under adversarial training",
        "curves",
        s.has_curve("adversarial"),
        s.adversarial_decline,
        "peak − last checkpoint of the gradient's mean fraction",
        kind="below",
        margin=M,
        paper_value="adversarial training avoids the decline",
        paper_row="38",
    ),
    Claim(
        "random_labels_above_random",
        "random-label models stay above random",
        "curves",
        s.has_curve("random_labels"),
        s.random_labels_above_random,
        "lowest gradient mean fraction after step 0 − random vectors",
        paper_value="still above random",
        paper_row="38",
    ),
    Claim(
        "curve_rises",
        "training curve rises (standard)",
        "curves",
        s.has_curve("standard"),
        s.rise,
        "peak − step 0 of the gradient's mean fraction",
        paper_value="rapid rise early with Adam",
        paper_row="38",
    ),
    Claim(
        "curve_declines",
        "training curve then declines (standard)",
        "curves",
        s.has_curve("standard"),
        s.decline,
        "peak − last checkpoint of the gradient's mean fraction",
        paper_value="declines as the model fits the labels",
        paper_row="38",
    ),
    Claim(
        "roar_tangent_hurts_most",
        "ROAR: tangent-space importance hurts most",
        "roar_repeats",
        s.has_roar_tangent,
        s.roar_closest_minus_tangent,
        "area under the ROAR accuracy curve: {closest} − tangent",
        paper_value="Tangent ≫ IxG > Grad > IG > SG > Random",
        paper_row="33",
    ),
    Claim(
        "off_robustness_rises_with_alignment",
        "off-manifold robustness rises with alignment",
        "robustness",
        s.has_robustness_regimes(),
        s.alignment_robustness_rho,
        "Spearman ρ over checkpoints and regimes: gradient fraction vs relative off-manifold "
        "robustness (noise norm {ref:g})",
        paper_value="models with aligned gradients are off-manifold robust (follow-up)",
    ),
    Claim(
        "robust_off_more_than_on",
        "robust models more robust off-manifold than on",
        "robustness",
        s.has_robustness_regimes("adversarial"),
        s.robust_on_minus_off,
        "mean |Δ logit|: on-manifold − off-manifold noise (adversarial, last checkpoint, "
        "norm {ref:g})",
        paper_value="robust models are off-manifold robust (follow-up)",
    ),
    Claim(
        "robust_relatively_off_robust",
        "robust models relatively more off-manifold robust than standard",
        "robustness",
        s.has_robustness_regimes("adversarial", "standard"),
        s.relative_off_robustness_gain,
        "relative off-manifold robustness: adversarial − standard (last checkpoints, norm "
        "{ref:g}, paired by seed)",
        paper_value="robustness makes models off-manifold robust (follow-up)",
    ),
    Claim(
        "normal_costs_less_accuracy",
        "normal-only training costs less clean accuracy than full adversarial training",
        "models",
        s.has_models("adversarial", "adversarial_normal"),
        s.error_difference("adversarial", "adversarial_normal"),
        "test error: adversarial − adversarial_normal (paired by seed)",
        paper_value="not in the paper",
    ),
    Claim(
        "tangent_costs_less_accuracy",
        "tangent-only training costs less clean accuracy than full adversarial training",
        "models",
        s.has_models("adversarial", "adversarial_tangent"),
        s.error_difference("adversarial", "adversarial_tangent"),
        "test error: adversarial − adversarial_tangent (paired by seed)",
        paper_value="not in the paper",
    ),
    Claim(
        "tangent_part_flips_sooner",
        "the tangent part flips the label in fewer steps than the {other} ({regime}, {method})",
        "counterfactuals",
        s.each_walk_comparison,
        s.steps_other_minus_tangent,
        "median steps to the flip (no flip counted as the budget + 1): {other} − tangent part",
        paper_value="not in the paper (Mahler et al.: tangent-projected counterfactuals)",
    ),
    Claim(
        "theorem1_in_tangent",
        "Theorem 1: gradient in the tangent space on half the curve",
        "theorem1",
        s.once_with(key="p_grad_in_tangent"),
        s.theorem1_share,
        "{key} − 0.49",
        paper_value="> 0.49",
        paper_row="39",
    ),
    Claim(
        "theorem1_orthogonal",
        "Theorem 1: gradient orthogonal on the other half",
        "theorem1",
        s.once_with(key="p_grad_orthogonal"),
        s.theorem1_share,
        "{key} − 0.49",
        paper_value="> 0.49",
        paper_row="39",
    ),
)


def _datasets(name: str, table) -> list[str]:
    """The datasets a summary table covers (Theorem 1's simulation is the dataset ``theorem1``)."""
    if name == "theorem1":
        return ["theorem1"]
    return sorted(table["dataset"].unique())


def evaluate(claim: Claim, tables: dict, dataset: str) -> list[dict]:
    """The claim's rows on one dataset: one per parameter set its condition gives (none when it does
    not apply, or when its statistic cannot be measured)."""
    rows = []
    for params in claim.applies(tables, dataset):
        measured = claim.statistic(tables, dataset, **params)
        if measured is None:
            continue
        names = {**params, **measured.fields}
        rows.append(
            {
                "claim": claim.statement.format(**names),
                "dataset": dataset,
                "statistic": claim.describes.format(**names),
                "paper_value": claim.paper_value,
                "paper_row": claim.paper_row,
                **estimate(measured, claim.kind, claim.margin),
            }
        )
    return rows


def claims_for(tables: dict, claims=CLAIMS) -> list[dict]:
    """Every row of ``claims`` on the given summary tables (``{name: table}``; a name not given, or
    None, was not run and its claims are left out)."""
    tables = {k: v for k, v in tables.items() if v is not None}
    rows = []
    for name in TABLES:
        if name not in tables:
            continue
        for dataset in _datasets(name, tables[name]):
            for claim in claims:
                if claim.table == name:
                    rows += evaluate(claim, tables, dataset)
    return rows


def claims_table(
    alignment,
    curves=None,
    roar_repeats=None,
    theorem1=None,
    robustness=None,
    tangent_fractions=None,
    models=None,
    counterfactuals=None,
) -> pd.DataFrame:
    """Every testable claim (``CLAIM_COLUMNS``) from the summary tables a run produced (None: not run)."""
    tables = {
        "alignment": alignment,
        "models": models,
        "counterfactuals": counterfactuals,
        "curves": curves,
        "roar_repeats": roar_repeats,
        "theorem1": theorem1,
        "robustness": robustness,
        "tangent_fractions": tangent_fractions,
    }
    return pd.DataFrame(claims_for(tables), columns=CLAIM_COLUMNS)
