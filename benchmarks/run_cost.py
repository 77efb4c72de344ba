"""What a finished run cost against its floors, as JSON: wall time, job-seconds, start-up, idle, utilisation,
and for each heavy rule the FLOPs it had to do over what this machine does per second on that model.

Reads only what the run left: every ``.prov.json`` sidecar under ``results/`` (process start, first line of
work and finish of each job, its params) and Snakemake's log of the run (its start and end). Then, in this
process, counts the FLOPs of one forward and backward pass of each heavy rule's model
(``torch.utils.flop_counter``) and times that pass at the rule's batch size on one thread: the floor of a job
is its FLOPs over that throughput. Run it on the same machine as the run, with nothing else running.

    uv run python benchmarks/run_cost.py [results] [--cores 2] [--log .snakemake/log/X.snakemake.log]

Definitions (docs/development.md, "What a run costs"):
- job-seconds: sum over jobs of (finish - first line of work) x threads;
- start-up: first line of work - process start (interpreter, imports, hand-over to the warm worker);
- utilisation: job-seconds / (cores x wall); idle core-seconds: cores x wall - sum of (finish - process
  start) x threads (Snakemake's own scheduling and the cores left empty).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floors import rule_floors  # noqa: E402  (the benchmark's own helper module)


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def read_jobs(results: Path) -> list[dict]:
    """One entry per job (a job writing several artifacts has one sidecar each, with one start time)."""
    jobs: dict[tuple, dict] = {}
    for side in sorted(results.rglob("*.prov.json")):
        record = json.loads(side.read_text())
        ex = record["execution"]
        key = (record["rule"], tuple(sorted(record["wildcards"].items())), ex["started"])
        job = jobs.setdefault(
            key,
            {
                "rule": record["rule"],
                "wildcards": record["wildcards"],
                "params": record["params"],
                "metrics": record.get("metrics", {}),
                "threads": int(ex.get("threads") or 1),
                "process_started": _t(ex["process_started"]) if ex.get("process_started") else None,
                "started": _t(ex["started"]),
                "finished": _t(ex["finished"]),
            },
        )
        job["finished"] = max(job["finished"], _t(ex["finished"]))
    return list(jobs.values())


def run_span(log: Path | None, jobs: list[dict]) -> tuple[float, float, str]:
    """(start, end, where from): the Snakemake log's name (its start, to the microsecond) and its last
    write; without a log, the first process start to the last finish."""
    if log is not None and log.exists():
        stamp = log.name.split(".snakemake.log")[0]
        start = datetime.strptime(stamp, "%Y-%m-%dT%H%M%S.%f").astimezone(UTC).timestamp()
        return start, log.stat().st_mtime, f"snakemake log {log}"
    starts = [j["process_started"] or j["started"] for j in jobs]
    return min(starts), max(j["finished"] for j in jobs), "first job start to last job end"


def latest_log(workdir: Path) -> Path | None:
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    return logs[-1] if logs else None


def cost(results: Path, cores: int, log: Path | None) -> dict:
    jobs = read_jobs(results)
    if not jobs:
        raise SystemExit(f"run_cost: no .prov.json sidecars under {results}: not a finished run")
    start, end, span_from = run_span(log, jobs)
    wall = end - start
    work = sum((j["finished"] - j["started"]) * j["threads"] for j in jobs)
    timed = [j for j in jobs if j["process_started"] is not None]
    startup = [j["started"] - j["process_started"] for j in timed]
    occupied = sum(
        (j["finished"] - (j["process_started"] or j["started"])) * j["threads"] for j in jobs
    )
    first = min(j["process_started"] or j["started"] for j in jobs)
    last = max(j["finished"] for j in jobs)
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for j in jobs:
        by_rule[j["rule"]].append(j)
    rules = {
        rule: {
            "jobs": len(js),
            "job_seconds": round(sum((j["finished"] - j["started"]) * j["threads"] for j in js), 2),
            "mean_startup_s": round(
                sum(j["started"] - j["process_started"] for j in js if j["process_started"])
                / max(1, sum(1 for j in js if j["process_started"])),
                3,
            ),
        }
        for rule, js in sorted(by_rule.items())
    }
    return {
        "results": str(results),
        "cores": cores,
        "wall_s": round(wall, 1),
        "wall_from": span_from,
        "jobs": len(jobs),
        "job_seconds": round(work, 1),
        "utilisation": round(work / (cores * wall), 4),
        "startup_s_total": round(sum(startup), 1),
        "startup_s_mean": round(sum(startup) / len(startup), 3) if startup else None,
        "startup_s_max": round(max(startup), 3) if startup else None,
        "jobs_without_process_start": len(jobs) - len(timed),
        "idle_core_s": round(cores * wall - occupied, 1),
        "idle_core_s_before_first_job": round(cores * max(0.0, first - start), 1),
        "idle_core_s_after_last_job": round(cores * max(0.0, end - last), 1),
        "rules": rules,
        "floors": rule_floors(jobs),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--log", type=Path, default=None, help="the run's Snakemake log")
    args = parser.parse_args(argv)
    log = args.log or latest_log(args.results.resolve().parent)
    return cost(args.results, args.cores, log)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
