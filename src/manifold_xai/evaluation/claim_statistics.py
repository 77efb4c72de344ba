"""The statistics the claims are tested on, one small function each, and the conditions under which a
claim applies to a dataset.

``tables`` is the dict of summary tables a run produced (``alignment``, ``curves``, ``roar_repeats``,
``robustness``, ``tangent_fractions``: DataFrames; ``theorem1``: the simulation's result dict; a table the
run did not make is absent). A statistic ``f(tables, dataset, **params)`` returns a ``Measured`` (or None
when the data cannot give a value); a condition ``g(tables, dataset)`` returns the parameter sets the
claim is tested with, one row each (an empty list: the claim does not apply). Comparisons between
methods or regimes are differences of per-seed values, paired by seed.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from manifold_xai.evaluation.robustness import reference_norm
from manifold_xai.evaluation.verdicts import Measured

POSTHOC = ("integrated_gradients", "path_averaged_gradient", "input_x_gradient", "smoothgrad")
FIGURE3_METHODS = ("gradient", *POSTHOC)
ROAR_PAPER_METHODS = (
    "gradient",
    "integrated_gradients",
    "path_averaged_gradient",
    "input_x_gradient",
    "smoothgrad",
    "random",
)
ONCE = [{}]  # a condition that holds: the claim is tested once, with no parameters


def once_with(**params):
    """Condition: the claim always applies, once, with these parameters."""
    return lambda tables, dataset: [params]


# -- alignment.csv -------------------------------------------------------------------------------
def _rows(tables, dataset: str, regime: str, method: str) -> pd.DataFrame:
    table = tables["alignment"]
    return table[
        (table["dataset"] == dataset) & (table["regime"] == regime) & (table["method"] == method)
    ]


def _seeds(rows: pd.DataFrame, value: str = "mean") -> pd.Series:
    """One value per seed, indexed by seed (so differences pair seeds)."""
    return rows.set_index("seed")[value]


def _standard_methods(tables, dataset: str) -> set[str]:
    table = tables["alignment"]
    return set(table[(table["dataset"] == dataset) & (table["regime"] == "standard")]["method"])


def has_standard_gradient(tables, dataset):
    """Every alignment claim needs the standard classifier's gradient."""
    return ONCE if "gradient" in _standard_methods(tables, dataset) else []


def each_posthoc_method(tables, dataset):
    methods = _standard_methods(tables, dataset)
    if "gradient" not in methods:
        return []
    return [{"method": m} for m in POSTHOC if m in methods]


def has_figure3_ordering(tables, dataset):
    """IxG, an IG (with or without the input factor) and SmoothGrad beside the gradient."""
    methods = _standard_methods(tables, dataset)
    ig = next((m for m in ("integrated_gradients", "path_averaged_gradient") if m in methods), None)
    if "gradient" not in methods or not ({"input_x_gradient", "smoothgrad"} <= methods and ig):
        return []
    return [{"ig": ig}]


def has_robust_gradient(tables, dataset):
    if not has_standard_gradient(tables, dataset):
        return []
    return ONCE if len(_rows(tables, dataset, "adversarial", "gradient")) else []


def gradient_minus_random(tables, dataset):
    grad = _rows(tables, dataset, "standard", "gradient")
    return Measured(_seeds(grad) - _seeds(grad, "random_mean"))


def baseline_minus_random(tables, dataset):
    grad = _rows(tables, dataset, "standard", "gradient")
    return Measured(_seeds(grad, "baseline") - _seeds(grad, "random_mean"))


def method_minus_gradient(tables, dataset, method):
    standard = _seeds(_rows(tables, dataset, "standard", method))
    return Measured(standard - _seeds(_rows(tables, dataset, "standard", "gradient")))


def ixg_minus_ig(tables, dataset, ig):
    ixg = _seeds(_rows(tables, dataset, "standard", "input_x_gradient"))
    return Measured(ixg - _seeds(_rows(tables, dataset, "standard", ig)))


def ig_minus_smoothgrad(tables, dataset, ig):
    smoothgrad = _seeds(_rows(tables, dataset, "standard", "smoothgrad"))
    return Measured(_seeds(_rows(tables, dataset, "standard", ig)) - smoothgrad)


def smoothgrad_minus_gradient(tables, dataset, ig):
    return method_minus_gradient(tables, dataset, "smoothgrad")


def robust_minus_standard(tables, dataset):
    robust = _seeds(_rows(tables, dataset, "adversarial", "gradient"))
    return Measured(robust - _seeds(_rows(tables, dataset, "standard", "gradient")))


# -- curves.csv: the gradient's mean fraction per checkpoint (Figure 6) ------------------------------
def _curves(tables, dataset: str, regime: str) -> dict:
    """Per seed, the gradient's mean fraction at each checkpoint in step order."""
    table = tables["curves"]
    table = table[
        (table["dataset"] == dataset)
        & (table["regime"] == regime)
        & (table["method"] == "gradient")
    ]
    return {s: t.sort_values("step")["mean"].to_numpy() for s, t in table.groupby("seed")}


def has_curve(regime: str):
    """Condition: the dataset has the gradient's training curve under ``regime``."""

    def condition(tables, dataset):
        return ONCE if _curves(tables, dataset, regime) else []

    condition.__name__ = f"has_{regime}_curve"
    return condition


def rise(tables, dataset, regime="standard"):
    """Peak − step 0 (the peak: the largest per-checkpoint mean)."""
    return Measured([v.max() - v[0] for v in _curves(tables, dataset, regime).values()])


def decline(tables, dataset, regime="standard"):
    """Peak − last checkpoint."""
    return Measured([v.max() - v[-1] for v in _curves(tables, dataset, regime).values()])


def adversarial_decline(tables, dataset):
    return decline(tables, dataset, "adversarial")


def random_labels_above_random(tables, dataset):
    """The lowest mean fraction after step 0 − random vectors (random-label classifier)."""
    per_seed = _curves(tables, dataset, "random_labels")
    random = _seeds(_rows(tables, dataset, "random_labels", "gradient"), "random_mean")
    return Measured(
        [per_seed[s][1:].min() - random.get(s, math.nan) for s in per_seed if len(per_seed[s]) > 1]
    )


# -- roar_repeats.csv: one row per retraining ------------------------------------------------------
def _roar_area(tables, dataset):
    """Mean accuracy over the removed fractions (area under the ROAR curve) per (seed, repeat) and
    method, without the unmodified baseline."""
    table = tables["roar_repeats"]
    table = table[(table["dataset"] == dataset) & (table["method"] != "none")]
    return table.groupby(["seed", "method", "repeat"])["accuracy"].mean().unstack("method")


def has_roar_tangent(tables, dataset):
    table = tables["roar_repeats"]
    methods = set(table[(table["dataset"] == dataset) & (table["method"] != "none")]["method"])
    return ONCE if "tangent" in methods and methods & set(ROAR_PAPER_METHODS) else []


def roar_closest_minus_tangent(tables, dataset):
    """The area of the paper's method that hurts most after tangent (the closest competitor), minus
    tangent's; per repeat index, then across seeds."""
    area = _roar_area(tables, dataset)
    others = [m for m in area.columns if m in ROAR_PAPER_METHODS]
    closest = area[others].mean().idxmin()  # the competitor that hurts most
    diff = (area[closest] - area["tangent"]).dropna()
    return Measured(
        diff.groupby(level="seed").mean(),
        replicates=diff.to_numpy(),
        replicate_name="retrainings",
        fields={"closest": closest},
    )


# -- robustness.csv (the follow-up paper), at the reference noise norm -------------------------------
def _at_reference(tables, dataset) -> pd.DataFrame:
    runs = tables["robustness"]
    runs = runs[runs["dataset"] == dataset]
    return runs[runs["norm"] == reference_norm(runs["norm"].unique())]


def _last_checkpoints(tables, dataset) -> pd.DataFrame:
    """Each (regime, seed)'s last checkpoint at the reference norm, indexed by (regime, seed)."""
    at = _at_reference(tables, dataset)
    last = at[at["step"] == at.groupby(["seed", "regime"])["step"].transform("max")]
    return last.set_index(["regime", "seed"])


def has_robustness_regimes(*regimes: str):
    """Condition: the dataset's robustness table has every regime in ``regimes`` (none: any table)."""

    def condition(tables, dataset):
        present = set(_last_checkpoints(tables, dataset).index.get_level_values("regime"))
        return ONCE if set(regimes) <= present else []

    condition.__name__ = "has_robustness_of_" + "_and_".join(regimes or ("any",))
    return condition


def alignment_robustness_rho(tables, dataset):
    """Per seed, Spearman's ρ between the gradient's mean fraction and the relative off-manifold
    robustness over every (regime, checkpoint) of the dataset (at least 5); None with no such seed."""
    at = _at_reference(tables, dataset)
    rho = {}
    for seed, points in at.dropna(subset=["gradient_fraction"]).groupby("seed"):
        if len(points) >= 5:
            rho[seed] = stats.spearmanr(
                points["gradient_fraction"], points["relative_off_robustness"]
            ).statistic
    if not rho:
        return None
    return Measured(list(rho.values()), fields={"ref": float(at["norm"].iloc[0])})


def robust_on_minus_off(tables, dataset):
    """On-manifold − off-manifold mean |Δ logit| at the adversarial model's last checkpoint."""
    robust = _last_checkpoints(tables, dataset).loc["adversarial"]
    ref = float(_at_reference(tables, dataset)["norm"].iloc[0])
    return Measured(robust["on_logit"] - robust["off_logit"], fields={"ref": ref})


def relative_off_robustness_gain(tables, dataset):
    """Relative off-manifold robustness, adversarial − standard, at the last checkpoints."""
    final = _last_checkpoints(tables, dataset)
    diff = (
        final.loc["adversarial"]["relative_off_robustness"]
        - final.loc["standard"]["relative_off_robustness"]
    ).dropna()
    ref = float(_at_reference(tables, dataset)["norm"].iloc[0])
    return Measured(diff, fields={"ref": ref})


# -- tangent_fractions.csv: Figure 3's ordering under other tangent sources --------------------------
def _figure3_fractions(tables, dataset) -> pd.DataFrame:
    table = tables["tangent_fractions"]
    return table[
        (table["dataset"] == dataset)
        & (table["regime"] == "standard")
        & table["method"].isin(FIGURE3_METHODS)
    ]


def each_other_source(tables, dataset):
    table = _figure3_fractions(tables, dataset)
    if table.empty:
        return []
    own = str(table["own_source"].iloc[0])
    return [{"own": own, "source": s} for s in sorted(set(table["source"]) - {own})]


def ordering_tau(own: pd.Series, other: pd.Series) -> float:
    """Kendall's τ between two methods → mean fraction series over their common methods (1: same
    order, −1: reversed; NaN with fewer than two methods)."""
    common = [m for m in own.index if m in other.index]
    if len(common) < 2:
        return math.nan
    return float(stats.kendalltau(own[common].values, other[common].values).statistic)


def ordering_tau_per_seed(tables, dataset, own, source):
    """Per seed, Kendall's τ of the methods' mean fractions under the dataset's own source and
    ``source`` (standard classifier)."""
    taus = []
    for _, run in _figure3_fractions(tables, dataset).groupby("seed", sort=True):
        means = {s: run[run["source"] == s].set_index("method")["mean"] for s in (own, source)}
        taus.append(ordering_tau(means[own], means[source]))
    return Measured([t for t in taus if math.isfinite(t)])


# -- theorem1.json -----------------------------------------------------------------------------------
def theorem1_share(tables, dataset, key):
    """``key``'s share of the simulation's test points − 0.49, with its Clopper–Pearson interval."""
    result = tables["theorem1"]
    n, p = int(result["n_test"]), float(result[key])
    ci = stats.binomtest(round(p * n), n).proportion_ci(0.95, method="exact")
    over = f"Clopper-Pearson over {n} test points"
    interval = (p - 0.49, ci.low - 0.49, ci.high - 0.49, n, over, math.sqrt(p * (1 - p)))
    return Measured([p - 0.49], interval=interval)


# -- the directed adversarial regimes (alignment.csv, models.csv) ---------------------------------
def has_gradient_of(regime: str):
    """Condition: the dataset has the standard and ``regime``'s gradient alignment."""

    def condition(tables, dataset):
        if not has_standard_gradient(tables, dataset):
            return []
        return ONCE if len(_rows(tables, dataset, regime, "gradient")) else []

    return condition


def regime_minus_standard(regime: str):
    def statistic(tables, dataset):
        other = _seeds(_rows(tables, dataset, regime, "gradient"))
        return Measured(other - _seeds(_rows(tables, dataset, "standard", "gradient")))

    return statistic


def has_gap_regime(regime: str):
    """Condition: standard, adversarial and ``regime`` gradients (the gap's share needs all three)."""

    def condition(tables, dataset):
        if not has_gradient_of(regime)(tables, dataset):
            return []
        return has_robust_gradient(tables, dataset)

    return condition


def gap_share_minus_half(regime: str):
    """Per seed, the share of the standard→adversarial gap in the gradient's mean fraction that
    ``regime`` closes, minus one half ("most of the gap": above 0); NaN for a seed whose gap is 0."""

    def statistic(tables, dataset):
        standard = _seeds(_rows(tables, dataset, "standard", "gradient"))
        gap = _seeds(_rows(tables, dataset, "adversarial", "gradient")) - standard
        closed = _seeds(_rows(tables, dataset, regime, "gradient")) - standard
        share = (closed / gap.where(gap != 0)).dropna()
        return Measured(share - 0.5)

    return statistic


def _test_errors(tables, dataset: str, regime: str) -> pd.Series:
    """models.csv's classifier test error per seed."""
    table = tables["models"]
    rows = table[
        (table["dataset"] == dataset)
        & (table["model"] == f"classifier {regime}")
        & (table["quantity"] == "test error")
    ]
    return rows.set_index("seed")["value"]


def has_models(*regimes: str):
    def condition(tables, dataset):
        return ONCE if all(len(_test_errors(tables, dataset, r)) for r in regimes) else []

    return condition


def error_difference(first: str, second: str):
    """Per seed, ``first``'s test error minus ``second``'s (positive: ``second`` is more accurate)."""

    def statistic(tables, dataset):
        return Measured(
            _test_errors(tables, dataset, first) - _test_errors(tables, dataset, second)
        )

    return statistic


# -- counterfactuals.csv ------------------------------------------------------------------------------
WALK_OTHERS = {"orthogonal": "orthogonal part", "random_tangent": "random tangent direction"}


def _walk_steps(tables, dataset, regime, method, direction) -> pd.Series:
    table = tables["counterfactuals"]
    rows = table[
        (table["dataset"] == dataset)
        & (table["regime"] == regime)
        & (table["method"] == method)
        & (table["direction"] == direction)
    ]
    return rows.set_index("seed")["censored_median_steps"]


def each_walk_comparison(tables, dataset):
    """One row per (regime, method) walked and per other direction beside the tangent part."""
    table = tables["counterfactuals"]
    table = table[table["dataset"] == dataset]
    pairs = dict.fromkeys(zip(table["regime"], table["method"], strict=True))
    directions = set(table["direction"])
    if "tangent" not in directions:
        return []
    return [
        {"regime": regime, "method": method, "other": WALK_OTHERS[d], "direction": d}
        for regime, method in pairs
        for d in WALK_OTHERS
        if d in directions
    ]


def steps_other_minus_tangent(tables, dataset, regime, method, other, direction):
    """Per seed, the other direction's censored median steps to the flip minus the tangent part's."""
    tangent = _walk_steps(tables, dataset, regime, method, "tangent")
    return Measured(_walk_steps(tables, dataset, regime, method, direction) - tangent)
