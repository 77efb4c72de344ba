"""The gradient's fraction in the tangent space against training steps, for one or more finished runs
side by side (a Markdown table from their ``results/summary/curves.csv``): across-seed mean and 95%
t-interval, and the test error, at every checkpoint step any of them has. docs/replication.md's table.

    uv run python tools/fraction_by_step.py NAME=RESULTS [NAME=RESULTS ...] [--regime standard]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def table(runs: dict[str, Path], regime: str, method: str, dataset: str) -> str:
    frames = {}
    for name, results in runs.items():
        df = pd.read_csv(Path(results) / "summary" / "curves.csv")
        df = df[(df.dataset == dataset) & (df.regime == regime) & (df.method == method)]
        frames[name] = df.groupby("step").agg(
            mean=("seed_mean", "first"),
            low=("seed_ci_low", "first"),
            high=("seed_ci_high", "first"),
            test_error=("test_error", "mean"),
            seeds=("seed", "nunique"),
        )
    steps = sorted(set().union(*(f.index for f in frames.values())))
    head = (
        "| step | " + " | ".join(f"{n}: fraction [95% CI] | {n}: test error" for n in frames) + " |"
    )
    lines = [head, "|---" * (1 + 2 * len(frames)) + "|"]
    for step in steps:
        cells = []
        for f in frames.values():
            if step in f.index:
                r = f.loc[step]
                cells += [
                    f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]",
                    f"{r.test_error:.3f}",
                ]
            else:
                cells += ["", ""]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="NAME=RESULTS_FOLDER")
    ap.add_argument("--regime", default="standard")
    ap.add_argument("--method", default="gradient")
    ap.add_argument("--dataset", default="mnist32")
    args = ap.parse_args()
    runs = dict(r.split("=", 1) for r in args.runs)
    print(table({k: Path(v) for k, v in runs.items()}, args.regime, args.method, args.dataset))


if __name__ == "__main__":
    main()
