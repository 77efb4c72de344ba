"""What the end of a run prints: the fraction in tangent space across seeds, and the claims' verdicts."""

from __future__ import annotations

from pathlib import Path

ALIGNMENT_COLUMNS = [
    "dataset",
    "regime",
    "method",
    "n_seeds",
    "seed_mean",
    "seed_ci_low",
    "seed_ci_high",
]
CLAIM_COLUMNS = [
    "claim",
    "dataset",
    "value",
    "ci_low",
    "ci_high",
    "interval",
    "verdict",
    "n_needed",
]
COMPARISON_COLUMNS = [
    "paper_row",
    "dataset",
    "quantity",
    "value",
    "ci_low",
    "ci_high",
    "paper_value",
    "inside",
]


def print_run_summary(
    alignment: Path,
    claims: Path,
    *,
    started: float,
    given_classifiers: list[str],
    comparison: Path | None = None,
) -> None:
    """Print both tables when the claims table was (re)written since ``started`` (a ``time.time()``):
    a run that only redrew a figure prints nothing; then the paper comparison, where it exists.
    ``given_classifiers``: the datasets whose
    classifier the researcher gave (``classifier.external``), each named with what is absent."""
    import pandas as pd

    if not claims.exists() or claims.stat().st_mtime < started:
        return
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.max_colwidth", 60
    ):
        if alignment.exists():
            table = pd.read_csv(alignment)[ALIGNMENT_COLUMNS].drop_duplicates()
            print("\nFraction in tangent space, mean over seeds with the 95% t-interval over seeds")
            print(
                "(results/summary/alignment.csv has the per-seed rows and their intervals over images):"
            )
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        for dataset in given_classifiers:
            print(
                f"\n{dataset}: the classifier was given (classifier.external), not trained; its "
                "regime is 'external' and the training regimes, curves, ROAR and sanity checks "
                "are absent."
            )
        table = pd.read_csv(claims)
        print("\nThe paper's claims (results/summary/claims.csv):")
        if table.empty:
            print("none applies: they compare the pipeline's own standard, adversarial and")
            print("random-label classifiers, their training curves and ROAR.")
        else:
            print(table[CLAIM_COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if comparison is not None and comparison.exists():
            table = pd.read_csv(comparison, keep_default_na=False, na_values=[""])
            print("\nThe paper, side by side (results/summary/paper_comparison.csv):")
            if table.empty:
                print("no dataset runs the paper's MNIST32 protocol (real MNIST digits at 32x32).")
            else:
                print(
                    table[COMPARISON_COLUMNS].to_string(
                        index=False, float_format=lambda v: f"{v:.4f}"
                    )
                )
