"""The run set beside the paper: how well its models were trained (``models.csv``) and every number of
docs/paper.md §15 the run measures (``paper_comparison.csv``).

``model_quality``: per run, the labelling network's accuracy on held-out real digits and on their
reconstructions (generative datasets), and each classifier's test error, with the estimate across seeds
and, for a dataset run on the paper's protocol (``config_facts.paper_dataset``), the paper's value, the gap and
whether the paper's regime was reached (within ``REACHED_TOLERANCE``).

``paper_comparison``: the quantities (rows 7, 11, 12, 15–18: our mean across seeds with its 95%
t-interval, and whether the paper's value lies inside it) and the qualitative statements (rows 19, 33,
38, 39: the claims table's rows that cite them; "inside" there means the claim holds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from manifold_xai.evaluation.reductions import t_interval, with_seed_columns

# How close to the paper's value a model must come to count as trained in its regime (fraction units).
REACHED_TOLERANCE = 0.005
MODEL_COLUMNS = [
    "dataset",
    "seed",
    "model",
    "quantity",
    "value",
    "n_seeds",
    "seed_mean",
    "seed_sd",
    "seed_ci_low",
    "seed_ci_high",
    "paper_value",
    "paper_row",
    "gap",
    "reached",
]
COMPARISON_COLUMNS = [
    "paper_row",
    "dataset",
    "quantity",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "paper_value",
    "inside",
    "how",
]


@dataclass(frozen=True)
class PaperQuantity:
    """A number of docs/paper.md §15 and where the run measures it: ``table`` (``models`` or
    ``alignment``) rows matching ``select``, column ``column``; ``better``: which side of the paper's
    value counts as the regime reached (``higher``, ``lower``, or None: not a training target)."""

    row: int
    quantity: str
    paper_value: float
    table: str
    select: dict
    column: str = "value"
    better: str | None = None


QUANTITIES = (
    PaperQuantity(
        7,
        "labeller accuracy on held-out real digits",
        0.968,
        "models",
        {"model": "labeller", "quantity": "accuracy on held-out real digits"},
        better="higher",
    ),
    PaperQuantity(
        11,
        "mean fraction of random N(0, I) vectors",
        0.0962,
        "alignment",
        {"regime": "standard", "method": "gradient"},
        column="random_mean",
    ),
    PaperQuantity(
        12,
        "standard LeNet test error",
        0.0103,
        "models",
        {"model": "classifier standard", "quantity": "test error"},
        better="lower",
    ),
    PaperQuantity(
        15,
        "mean fraction of the gradient, standard",
        0.3118,
        "alignment",
        {"regime": "standard", "method": "gradient"},
        column="mean",
    ),
    PaperQuantity(
        16,
        "mean fraction of the gradient, l2-robust",
        0.6754,
        "alignment",
        {"regime": "adversarial", "method": "gradient"},
        column="mean",
    ),
    PaperQuantity(
        17,
        "robust LeNet test error",
        0.0218,
        "models",
        {"model": "classifier adversarial", "quantity": "test error"},
        better="lower",
    ),
    PaperQuantity(
        18,
        "mean fraction of Input x Gradient",
        0.40,
        "alignment",
        {"regime": "standard", "method": "input_x_gradient"},
        column="mean",
    ),
)
QUALITATIVE_ROWS = ("19", "33", "38", "39")


def inside(low: float, high: float, paper: float) -> str:
    """``yes`` when the paper's value lies in the closed interval, ``no`` when outside, ``""`` when the
    interval is undefined (fewer than two replicates)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return "yes" if low <= paper <= high else "no"


def reached(value: float, paper: float, better: str | None) -> str:
    """``yes``/``no``: whether a training target is met within ``REACHED_TOLERANCE``; ``""`` otherwise."""
    if better is None or not (math.isfinite(value) and math.isfinite(paper)):
        return ""
    gap = value - paper if better == "higher" else paper - value
    return "yes" if gap >= -REACHED_TOLERANCE - 1e-12 else "no"  # (rounding at the edge)


def model_quality(labellers: dict, classifiers: dict, paper_datasets: set[str]) -> pd.DataFrame:
    """``models.csv``: ``labellers[(dataset, seed)]`` and ``classifiers[(dataset, seed, regime)]`` are
    their ``metrics.json`` dicts."""
    rows = []
    for (dataset, seed), m in sorted(labellers.items()):
        for key, quantity in (
            ("test_accuracy_originals", "accuracy on held-out real digits"),
            ("test_accuracy_reconstructions", "accuracy on their reconstructions"),
        ):
            rows.append((dataset, seed, "labeller", quantity, m.get(key, math.nan)))
    for (dataset, seed, regime), m in sorted(classifiers.items()):
        error = 1 - m["test_accuracy"] if "test_accuracy" in m else math.nan
        rows.append((dataset, seed, f"classifier {regime}", "test error", error))
    table = pd.DataFrame(rows, columns=["dataset", "seed", "model", "quantity", "value"])
    table = with_seed_columns(table, ["dataset", "model", "quantity"], "value")
    targets = {
        (q.select["model"], q.select["quantity"]): q for q in QUANTITIES if q.table == "models"
    }
    paper, row, gap, met = [], [], [], []
    for _, r in table.iterrows():
        q = targets.get((r["model"], r["quantity"]))
        if q is None or r["dataset"] not in paper_datasets:
            paper.append(math.nan), row.append(""), gap.append(math.nan), met.append("")
            continue
        paper.append(q.paper_value), row.append(str(q.row))
        gap.append(r["seed_mean"] - q.paper_value)
        met.append(reached(r["seed_mean"], q.paper_value, q.better))
    table = table.assign(paper_value=paper, paper_row=row, gap=gap, reached=met)
    return table[MODEL_COLUMNS]


def comparison(alignment: pd.DataFrame, models: pd.DataFrame, claims: pd.DataFrame, paper_datasets):
    """``paper_comparison.csv`` for the datasets run on the paper's protocol."""
    rows = []
    for dataset in sorted(paper_datasets):
        for q in QUANTITIES:
            table = {"alignment": alignment, "models": models}[q.table]
            match = table[table["dataset"] == dataset]
            for key, value in q.select.items():
                match = match[match[key] == value]
            if match.empty:
                continue
            per_seed = match.groupby("seed")[q.column].first()
            est = t_interval(per_seed.to_numpy())
            rows.append(
                {
                    "paper_row": str(q.row),
                    "dataset": dataset,
                    "quantity": q.quantity,
                    "value": est["mean"],
                    "ci_low": est["low"],
                    "ci_high": est["high"],
                    "n": est["n"],
                    "paper_value": f"{q.paper_value:g}",
                    "inside": inside(est["low"], est["high"], q.paper_value),
                    "how": f"t over {est['n']} seeds; inside: the paper's value in our 95% interval",
                }
            )
        for _, claim in claims[claims["dataset"] == dataset].iterrows():
            cited = [r.strip() for r in str(claim.get("paper_row", "")).split(",")]
            found = [r for r in QUALITATIVE_ROWS if r in cited]
            if not found:
                continue
            rows.append(
                {
                    "paper_row": found[0],
                    "dataset": dataset,
                    "quantity": claim["claim"],
                    "value": claim["value"],
                    "ci_low": claim["ci_low"],
                    "ci_high": claim["ci_high"],
                    "n": claim["n"],
                    "paper_value": claim["paper_value"],
                    "inside": {"holds": "yes", "fails": "no"}.get(claim["verdict"], ""),
                    "how": f"claims.csv: {claim['statistic']}; inside: the claim holds",
                }
            )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
