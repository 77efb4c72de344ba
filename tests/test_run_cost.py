"""benchmarks/run_cost.py on a finished run made of hand-written sidecars: wall time from the Snakemake
log, job-seconds, start-up, idle core-seconds and utilisation by their definitions, and a heavy rule's
FLOPs counted from its params and metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def sidecar(results: Path, name: str, rule: str, spawn: float, start: float, end: float, **extra):
    at = lambda s: (T0 + timedelta(seconds=s)).isoformat(timespec="milliseconds")  # noqa: E731
    record = {
        "rule": rule,
        "wildcards": {"job": name, **extra.get("wildcards", {})},
        "params": extra.get("params", {}),
        "metrics": extra.get("metrics", {}),
        "execution": {
            "threads": extra.get("threads", 1),
            "process_started": at(spawn),
            "started": at(start),
            "finished": at(end),
        },
    }
    path = results / name / "out.json.prov.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))


def test_the_costs_of_a_run_by_their_definitions(tmp_path):
    results = tmp_path / "results"
    # two cores for 100 s: job a (1 thread) 0-60 s with 2 s of start-up, job b (2 threads) 60-100 s
    # with 1 s, job c (1 thread) 0-50 s with 0.5 s; a classifier of 10 steps of 32 images
    sidecar(
        results,
        "a",
        "train_classifier",
        0,
        2,
        60,
        params={"classifier": {"arch": "lenet", "batch_size": 32}},
        metrics={"steps_trained": 10},
        wildcards={"regime": "standard"},
    )
    sidecar(results, "b", "plot", 60, 61, 100, threads=2)
    sidecar(results, "c", "plot", 0, 0.5, 50)
    log = tmp_path / ".snakemake" / "log" / "2026-01-01T120000.000000.snakemake.log"
    log.parent.mkdir(parents=True)
    log.write_text("")
    os.utime(log, (T0.timestamp() + 100, T0.timestamp() + 100))
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_cost.py"), str(results), "--cores", "2"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    cost = json.loads(out.stdout)
    assert cost["wall_s"] == 100.0 and cost["jobs"] == 3
    work = (60 - 2) + (100 - 61) * 2 + (50 - 0.5)
    assert cost["job_seconds"] == round(work, 1)
    assert cost["utilisation"] == round(work / 200, 4)
    assert cost["startup_s_mean"] == round((2 + 1 + 0.5) / 3, 3)
    occupied = 60 + 40 * 2 + 50
    assert cost["idle_core_s"] == 200 - occupied
    floor = cost["floors"]["train_classifier"]
    assert floor["jobs"] == 1
    assert abs(floor["gflop"] - 10 * 32 * cost["floors"]["mflop_per_image"] / 1e3) <= 0.1
    assert abs(floor["ratio"] - 58 / floor["floor_s"]) <= 0.02 * floor["ratio"]
