"""The paper's claims, tested on a finished run: one row per (claim, dataset) with a verdict.

Every claim is turned into a **statistic whose sign or size the claim fixes** (a difference such as
"gradient fraction − random-vector fraction", paired by seed), estimated per seed and then across seeds
(mean and 95% Student-t interval over seeds; ``reductions.t_interval``). Where a dataset has a single
seed the interval is over that run's replicates (ROAR retrainings, test images, simulation test points)
and the ``interval`` column says so: such an interval leaves out the model-to-model variation.

Verdict rule (``verdict``), for a 95% interval ``[low, high]``:

- ``greater`` (the claim says the statistic is > 0): **holds** if ``low > 0``, **fails** if ``high < 0``;
- ``below`` (the claim says the statistic is < ``margin``, e.g. "no decline"): holds if
  ``high < margin``, fails if ``low > margin``;
- ``equivalent`` (the claim says ≈, within ``± margin``): holds if the interval lies inside
  ``(−margin, margin)``, fails if it lies entirely outside it;
- otherwise, and whenever the interval is undefined (fewer than two replicates), **inconclusive**.

So a claim holds only when the interval excludes the opposite, and fails only when the interval excludes
the claim. ``EQUIVALENCE_MARGIN`` (0.02 in fraction units) is the size of difference this module treats as
negligible; it is stated in each row's ``rule``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from manifold_xai.evaluation.reductions import t_interval
from manifold_xai.evaluation.robustness import reference_norm

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
]
EQUIVALENCE_MARGIN = 0.02
POSTHOC = ("integrated_gradients", "path_averaged_gradient", "input_x_gradient", "smoothgrad")
ROAR_PAPER_METHODS = (
    "gradient",
    "integrated_gradients",
    "path_averaged_gradient",
    "input_x_gradient",
    "smoothgrad",
    "random",
)


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


RULES = {
    "greater": "holds if the 95% CI > 0, fails if < 0",
    "below": "holds if the 95% CI < {m}, fails if > {m}",
    "equivalent": "holds if the 95% CI lies within ±{m}, fails if entirely outside",
}


def claim_row(
    claim,
    dataset,
    statistic,
    per_seed,
    *,
    kind="greater",
    margin=0.0,
    paper_value="",
    replicates=None,
    replicate_name="",
) -> dict:
    """One row: ``per_seed`` values of the statistic (one per seed); with a single seed, ``replicates``
    (the within-run values, e.g. per retraining) give the interval instead."""
    per_seed = np.asarray([v for v in per_seed if np.isfinite(v)], dtype=np.float64)
    if len(per_seed) >= 2 or replicates is None:
        est, over = t_interval(per_seed), f"t over {len(per_seed)} seeds"
    else:
        est = t_interval(replicates)
        est["mean"] = float(per_seed[0]) if len(per_seed) else math.nan
        over = f"t over {est['n']} {replicate_name}, 1 seed"
    return {
        "claim": claim,
        "dataset": dataset,
        "statistic": statistic,
        "value": est["mean"],
        "ci_low": est["low"],
        "ci_high": est["high"],
        "interval": over,
        "n": est["n"],
        "paper_value": paper_value,
        "verdict": verdict(est["low"], est["high"], kind, margin),
        "rule": RULES[kind].format(m=margin),
    }


def _per_seed(table: pd.DataFrame, value: str = "mean") -> pd.Series:
    return table.set_index("seed")[value]


def alignment_claims(alignment: pd.DataFrame) -> list[dict]:
    """Claims on ``alignment.csv`` (one row per dataset, seed, regime, method)."""
    rows = []
    for dataset, table in alignment.groupby("dataset", sort=True):
        standard = table[table["regime"] == "standard"]
        methods = set(standard["method"])
        if "gradient" not in methods:
            continue
        grad = _per_seed(standard[standard["method"] == "gradient"])
        random = _per_seed(standard[standard["method"] == "gradient"], "random_mean")
        rows.append(
            claim_row(
                "gradient above the random baseline",
                dataset,
                "mean fraction: gradient − random vectors (standard)",
                grad - random,
                paper_value="0.3118 − 0.0962 = 0.2156 (MNIST32)",
            )
        )
        baseline = _per_seed(standard[standard["method"] == "gradient"], "baseline")
        rows.append(
            claim_row(
                "random vectors slightly below sqrt(k/d)",
                dataset,
                "mean fraction of N(0, I) vectors − sqrt(k/d)",
                baseline - random,
                paper_value="0.0988 − 0.0962 = 0.0026 (MNIST32)",
            )
        )
        for method in POSTHOC:
            if method in methods:
                diff = _per_seed(standard[standard["method"] == method]) - grad
                rows.append(
                    claim_row(
                        f"post-hoc method above the gradient: {method}",
                        dataset,
                        f"mean fraction: {method} − gradient (standard, paired by seed)",
                        diff,
                        paper_value="> 0 on every dataset (paper text); SmoothGrad ≈ gradient on MNIST32",
                    )
                )
        ig = next(
            (m for m in ("integrated_gradients", "path_averaged_gradient") if m in methods), None
        )
        if {"input_x_gradient", "smoothgrad"} <= methods and ig:
            mean = {
                m: _per_seed(standard[standard["method"] == m])
                for m in ("input_x_gradient", ig, "smoothgrad")
            }
            rows.append(
                claim_row(
                    "MNIST32 ordering: IxG > IG",
                    dataset,
                    f"mean fraction: input_x_gradient − {ig}",
                    mean["input_x_gradient"] - mean[ig],
                    paper_value="0.40 vs ≈0.34 (KDE modes)",
                )
            )
            rows.append(
                claim_row(
                    "MNIST32 ordering: IG ≳ SmoothGrad",
                    dataset,
                    f"mean fraction: {ig} − smoothgrad",
                    mean[ig] - mean["smoothgrad"],
                    paper_value="≈0.34 vs ≈0.28–0.31",
                )
            )
            rows.append(
                claim_row(
                    "MNIST32 ordering: SmoothGrad ≈ gradient",
                    dataset,
                    "mean fraction: smoothgrad − gradient",
                    mean["smoothgrad"] - grad,
                    kind="equivalent",
                    margin=EQUIVALENCE_MARGIN,
                    paper_value="≈ 0 (SmoothGrad does not beat the gradient)",
                )
            )
        adversarial = table[(table["regime"] == "adversarial") & (table["method"] == "gradient")]
        if len(adversarial):
            rows.append(
                claim_row(
                    "robust model above standard",
                    dataset,
                    "mean gradient fraction: adversarial − standard (paired by seed)",
                    _per_seed(adversarial) - grad,
                    paper_value="0.6754 − 0.3118 = 0.3636 (MNIST32)",
                )
            )
    return rows


def curve_claims(curves: pd.DataFrame, alignment: pd.DataFrame) -> list[dict]:
    """Figure 6's claims on ``curves.csv`` (the gradient's mean fraction per checkpoint). The peak is the
    largest per-checkpoint mean; ``rise`` = peak − step 0, ``decline`` = peak − last checkpoint."""
    rows = []
    grad = curves[curves["method"] == "gradient"]
    for (dataset, regime), table in grad.groupby(["dataset", "regime"], sort=True):
        per_seed = {s: t.sort_values("step")["mean"].to_numpy() for s, t in table.groupby("seed")}
        rise = [v.max() - v[0] for v in per_seed.values()]
        decline = [v.max() - v[-1] for v in per_seed.values()]
        if regime == "standard":
            rows.append(
                claim_row(
                    "training curve rises (standard)",
                    dataset,
                    "peak − step 0 of the gradient's mean fraction",
                    rise,
                    paper_value="rapid rise early with Adam",
                )
            )
            rows.append(
                claim_row(
                    "training curve then declines (standard)",
                    dataset,
                    "peak − last checkpoint of the gradient's mean fraction",
                    decline,
                    paper_value="declines as the model fits the labels",
                )
            )
        elif regime == "adversarial":
            rows.append(
                claim_row(
                    "no decline under adversarial training",
                    dataset,
                    "peak − last checkpoint of the gradient's mean fraction",
                    decline,
                    kind="below",
                    margin=EQUIVALENCE_MARGIN,
                    paper_value="adversarial training avoids the decline",
                )
            )
        elif regime == "random_labels":
            random = alignment[
                (alignment["dataset"] == dataset)
                & (alignment["regime"] == regime)
                & (alignment["method"] == "gradient")
            ].set_index("seed")["random_mean"]
            above = [
                per_seed[s][1:].min() - random.get(s, math.nan)
                for s in per_seed
                if len(per_seed[s]) > 1
            ]
            rows.append(
                claim_row(
                    "random-label models stay above random",
                    dataset,
                    "lowest gradient mean fraction after step 0 − random vectors",
                    above,
                    paper_value="still above random",
                )
            )
    return rows


def roar_claims(repeats: pd.DataFrame) -> list[dict]:
    """ROAR (``roar_repeats.csv``, one row per retraining): removal by tangent-space importance hurts most.
    Statistic: mean accuracy over the removed fractions (area under the ROAR curve) of the paper's method
    that hurts most after tangent, minus tangent's; per repeat index, then across seeds."""
    rows = []
    for dataset, table in repeats.groupby("dataset", sort=True):
        table = table[table["method"] != "none"]
        if "tangent" not in set(table["method"]):
            continue
        area = table.groupby(["seed", "method", "repeat"])["accuracy"].mean().unstack("method")
        others = [m for m in area.columns if m in ROAR_PAPER_METHODS]
        if not others:
            continue
        closest = area[others].mean().idxmin()  # the competitor that hurts most
        diff = (area[closest] - area["tangent"]).dropna()
        per_seed = diff.groupby(level="seed").mean()
        rows.append(
            claim_row(
                "ROAR: tangent-space importance hurts most",
                dataset,
                f"area under the ROAR accuracy curve: {closest} − tangent",
                per_seed,
                replicates=diff.to_numpy(),
                replicate_name="retrainings",
                paper_value="Tangent ≫ IxG > Grad > IG > SG > Random",
            )
        )
    return rows


def robustness_claims(table: pd.DataFrame) -> list[dict]:
    """The follow-up paper's claims on ``robustness.csv`` at the reference noise norm (the median norm):

    - off-manifold robustness rises with alignment: per seed, Spearman's rank correlation between the
      gradient's mean fraction in tangent space and the relative off-manifold robustness over every
      (regime, checkpoint) of the dataset (at least 5), then across seeds;
    - robust models are more robust off-manifold than on: at the adversarial model's last checkpoint,
      on-manifold minus off-manifold mean |Δ logit|;
    - and more so than standard models: relative off-manifold robustness, adversarial − standard, at the
      last checkpoints, paired by seed.
    """
    rows = []
    for dataset, runs in table.groupby("dataset", sort=True):
        at = runs[runs["norm"] == reference_norm(runs["norm"].unique())]
        ref = float(at["norm"].iloc[0])
        rho = {}
        for seed, points in at.dropna(subset=["gradient_fraction"]).groupby("seed"):
            if len(points) >= 5:
                rho[seed] = stats.spearmanr(
                    points["gradient_fraction"], points["relative_off_robustness"]
                ).statistic
        if rho:
            rows.append(
                claim_row(
                    "off-manifold robustness rises with alignment",
                    dataset,
                    f"Spearman ρ over checkpoints and regimes: gradient fraction vs relative "
                    f"off-manifold robustness (noise norm {ref:g})",
                    list(rho.values()),
                    paper_value="models with aligned gradients are off-manifold robust (follow-up)",
                )
            )
        last = at[at["step"] == at.groupby(["seed", "regime"])["step"].transform("max")]
        final = last.set_index(["regime", "seed"])
        if "adversarial" in final.index.get_level_values("regime"):
            robust = final.loc["adversarial"]
            rows.append(
                claim_row(
                    "robust models more robust off-manifold than on",
                    dataset,
                    f"mean |Δ logit|: on-manifold − off-manifold noise (adversarial, last "
                    f"checkpoint, norm {ref:g})",
                    robust["on_logit"] - robust["off_logit"],
                    paper_value="robust models are off-manifold robust (follow-up)",
                )
            )
            if "standard" in final.index.get_level_values("regime"):
                diff = (
                    robust["relative_off_robustness"]
                    - final.loc["standard"]["relative_off_robustness"]
                ).dropna()
                rows.append(
                    claim_row(
                        "robust models relatively more off-manifold robust than standard",
                        dataset,
                        f"relative off-manifold robustness: adversarial − standard (last "
                        f"checkpoints, norm {ref:g}, paired by seed)",
                        diff,
                        paper_value="robustness makes models off-manifold robust (follow-up)",
                    )
                )
    return rows


FIGURE3_METHODS = ("gradient", *POSTHOC)


def ordering_tau(own: pd.Series, other: pd.Series) -> float:
    """Kendall's τ between two methods → mean fraction series over their common methods (1: same
    order, −1: reversed; NaN with fewer than two methods)."""
    common = [m for m in own.index if m in other.index]
    if len(common) < 2:
        return math.nan
    return float(stats.kendalltau(own[common].values, other[common].values).statistic)


def tangent_source_claims(fractions: pd.DataFrame) -> list[dict]:
    """Does Figure 3's method ordering survive another tangent source? From ``tangent_fractions.csv``:
    per dataset and other source, Kendall's τ between the paper's methods' mean fractions (standard
    classifier) under the dataset's own source (column ``own_source``) and under the other, per seed. Holds if the ordering is the same in every seed
    (τ = 1), fails if it differs in every seed, inconclusive otherwise; the interval is the t-interval of
    τ over seeds, for reference."""
    rows = []
    table = fractions[fractions["regime"] == "standard"]
    table = table[table["method"].isin(FIGURE3_METHODS)]
    for dataset, by_dataset in table.groupby("dataset", sort=True):
        own = str(by_dataset["own_source"].iloc[0])
        for source in sorted(set(by_dataset["source"]) - {own}):
            taus = []
            for _, run in by_dataset.groupby("seed", sort=True):
                means = {
                    s: run[run["source"] == s].set_index("method")["mean"] for s in (own, source)
                }
                taus.append(ordering_tau(means[own], means[source]))
            taus = [t for t in taus if np.isfinite(t)]
            row = claim_row(
                f"Figure 3's method ordering survives the {source} tangent source",
                dataset,
                f"Kendall τ of the methods' mean fractions: {own} vs {source} (standard)",
                taus,
            )
            same = [t == 1.0 for t in taus]
            row["verdict"] = (
                "inconclusive"
                if not same
                else "holds"
                if all(same)
                else "fails"
                if not any(same)
                else "inconclusive"
            )
            row["rule"] = (
                "holds if the ordering is the same (τ = 1) in every seed, fails if it differs in every "
                "seed"
            )
            row["paper_value"] = "the paper measures under its autoencoders only"
            rows.append(row)
    return rows


def theorem1_claims(result: dict) -> list[dict]:
    """Theorem 1: the gradient lies in the tangent space on about half of the curve and is orthogonal to
    it on the other half (each share > 0.49 in the limit), at 100% test accuracy. Interval: Clopper–Pearson
    over the simulation's test points (one trained network)."""
    rows, n = [], int(result["n_test"])
    for key, claim in (
        ("p_grad_in_tangent", "Theorem 1: gradient in the tangent space on half the curve"),
        ("p_grad_orthogonal", "Theorem 1: gradient orthogonal on the other half"),
    ):
        p = float(result[key])
        ci = stats.binomtest(round(p * n), n).proportion_ci(0.95, method="exact")
        rows.append(
            {
                "claim": claim,
                "dataset": "theorem1",
                "statistic": f"{key} − 0.49",
                "value": p - 0.49,
                "ci_low": ci.low - 0.49,
                "ci_high": ci.high - 0.49,
                "interval": f"Clopper-Pearson over {n} test points",
                "n": n,
                "paper_value": "> 0.49",
                "verdict": verdict(ci.low - 0.49, ci.high - 0.49),
                "rule": RULES["greater"],
            }
        )
    return rows


def claims_table(
    alignment,
    curves=None,
    roar_repeats=None,
    theorem1=None,
    robustness=None,
    tangent_fractions=None,
) -> pd.DataFrame:
    """Every testable claim (``CLAIM_COLUMNS``) from the summary tables a run produced (None: not run)."""
    rows = alignment_claims(alignment)
    if tangent_fractions is not None:
        rows += tangent_source_claims(tangent_fractions)
    if curves is not None:
        rows += curve_claims(curves, alignment)
    if roar_repeats is not None:
        rows += roar_claims(roar_repeats)
    if robustness is not None:
        rows += robustness_claims(robustness)
    if theorem1 is not None:
        rows += theorem1_claims(theorem1)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
