"""Rule summarize_roar: ``summary/roar.csv`` (per dataset, seed, method and fraction: the mean accuracy of
the repeated retrainings with its t-interval over repeats, and the across-seed columns; method ``none`` is
the unmodified baseline at fraction 0), ``summary/roar_repeats.csv`` (one row per retraining) and
``summary/road.csv`` (dataset, seed, method, order, fraction, accuracy)."""

from manifold_xai.jobs import run_job

REPEAT_COLUMNS = [
    "dataset",
    "seed",
    "method",
    "fraction",
    "repeat",
    "repeat_seed",
    "accuracy",
    "train_accuracy",
]


def main(job):
    import pandas as pd

    from manifold_xai.evaluation.roar import roar_rows
    from manifold_xai.store import read_json, write_csv

    results = [read_json(p) for p in job.input.results]
    repeats = pd.DataFrame(
        [
            {
                **{k: r[k] for k in ("dataset", "seed", "method", "fraction")},
                "repeat": i,
                "repeat_seed": s,
                "accuracy": a,
                "train_accuracy": t,
            }
            for r in results
            for i, (s, a, t) in enumerate(
                zip(r["repeat_seeds"], r["accuracies"], r["train_accuracies"], strict=True)
            )
        ],
        columns=REPEAT_COLUMNS,
    )
    road = pd.concat([pd.read_csv(p) for p in job.input.road], ignore_index=True)
    roar = roar_rows(results)
    for table, path in (
        (roar, job.output.roar),
        (repeats, job.output.repeats),
        (road, job.output.road),
    ):
        write_csv(path, table)
    job.metrics = {"roar_rows": len(roar), "retrainings": len(repeats), "road_rows": len(road)}


run_job(snakemake, main)
