"""Rule summarize_roar: ``summary/roar.csv`` (dataset, seed, method, fraction, accuracy: one retrained
classifier per row; method ``none`` is the unmodified baseline at fraction 0) and ``summary/road.csv``
(dataset, seed, method, order, fraction, accuracy)."""

import pandas as pd

from manifold_xai.jobs import run_job
from manifold_xai.store import read_json, write_csv

ROAR_COLUMNS = ["dataset", "seed", "method", "fraction", "accuracy", "train_accuracy", "n_train", "n_test",
                "fill", "order"]  # fmt: skip


def main(job):
    roar = pd.DataFrame([read_json(p) for p in job.input.results], columns=ROAR_COLUMNS)
    roar = roar.sort_values(["dataset", "seed", "method", "fraction"], kind="stable")
    road = pd.concat([pd.read_csv(p) for p in job.input.road], ignore_index=True)
    for table, path in ((roar, job.output.roar), (road, job.output.road)):
        write_csv(path, table)
    job.metrics = {"roar_rows": len(roar), "road_rows": len(road)}


run_job(snakemake, main)
