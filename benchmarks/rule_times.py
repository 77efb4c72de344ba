"""Per-rule wall times, peak memory and CPU time of a finished pipeline run, as JSON.

Reads Snakemake's ``benchmark:`` TSVs under ``results/benchmarks/`` and the start/finish times in every
``.prov.json`` sidecar, so it measures the run that produced ``results/`` (no re-execution).

    uv run python benchmarks/rule_times.py [results]
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path


def main(results: Path) -> dict:
    by_rule: dict[str, list[dict]] = defaultdict(list)
    seen = set()
    for side in sorted(results.rglob("*.prov.json")):
        record = json.loads(side.read_text())
        ex = record["execution"]
        key = (record["rule"], tuple(sorted(record["wildcards"].items())))
        if key in seen:  # one job writes several artifacts
            continue
        seen.add(key)
        seconds = (
            datetime.fromisoformat(ex["finished"]) - datetime.fromisoformat(ex["started"])
        ).total_seconds()
        by_rule[record["rule"]].append(
            {
                "wildcards": record["wildcards"],
                "seconds": seconds,
                "start": ex["started"],
                "end": ex["finished"],
                "cpu_s": ex.get("cpu_s"),
                "max_rss_mb": ex.get("max_rss_mb"),
            }
        )
    peak = {}
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rows = list(csv.DictReader(tsv.open(), delimiter="\t"))
        if rows:
            rule = tsv.parent.name
            peak.setdefault(rule, []).append(
                {
                    "job": tsv.stem,
                    "s": float(rows[0]["s"]),
                    "max_rss_mb": float(rows[0]["max_rss"]),
                    "cpu_time_s": float(rows[0]["cpu_time"]),
                }
            )
    starts = [j["start"] for jobs in by_rule.values() for j in jobs]
    ends = [j["end"] for jobs in by_rule.values() for j in jobs]
    span = (
        (datetime.fromisoformat(max(ends)) - datetime.fromisoformat(min(starts))).total_seconds()
        if starts
        else 0.0
    )
    return {
        "results": str(results),
        "first_job_start_to_last_job_end_s": span,
        "rules": {
            rule: {
                "jobs": len(jobs),
                "mean_s": sum(j["seconds"] for j in jobs) / len(jobs),
                "max_s": max(j["seconds"] for j in jobs),
                "max_rss_mb": max((j["max_rss_mb"] or 0) for j in jobs) or None,
                "snakemake_benchmark": peak.get(rule, []),
            }
            for rule, jobs in sorted(by_rule.items())
        },
        "note": "job seconds are from provenance start/finish (inside the script, after imports); "
        "snakemake_benchmark 's' includes interpreter start-up; max_rss_mb is the job's own peak "
        "(provenance): with the warm worker the benchmark files' max_rss and cpu_time measure only the "
        "interpreter that waited for the worker's child",
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results")), indent=2))
