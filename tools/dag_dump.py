"""Print every job a Snakemake invocation would plan, as JSON: rule, wildcards, input, output, params,
resources and threads, sorted. A refactor of the rule files or of the run plan is checked by dumping
the shipped configs before and after and comparing the two files.

    python tools/dag_dump.py --snakefile Snakefile --directory WORKDIR [--configfile C] > jobs.json

The arguments are Snakemake's own; the dump plans with ``--forceall`` (every job, whatever exists) and
runs nothing. Paths are printed as the jobs see them (relative to the working directory).
"""

from __future__ import annotations

import json
import sys


def _plain(value):
    """A JSON-able, deterministic form of a params value (Namedlists and paths become lists/strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def job_record(job) -> dict:
    """One planned job: everything a rule's wiring decides about it."""
    named = dict(job.params.items())
    return {
        "rule": job.rule.name,
        "wildcards": dict(job.wildcards.items()),
        "input": sorted(map(str, job.input)),
        "output": sorted(map(str, job.output)),
        "log": sorted(map(str, job.log)),
        "params": _plain(named if named else list(job.params)),
        "resources": {
            k: _plain(v)
            for k, v in job.resources.items()
            if not k.startswith("_") and k not in ("tmpdir",)
        },
        "threads": job.threads,
    }


def main() -> None:
    import snakemake.cli
    from snakemake.workflow import Workflow

    def dump(self):
        self._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        self._build_dag()
        rows = sorted(
            (job_record(job) for job in self.dag.jobs),
            key=lambda r: (r["rule"], json.dumps(r["wildcards"], sort_keys=True), r["output"]),
        )
        json.dump(rows, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")

    Workflow.printdag = dump
    sys.argv = ["snakemake", *sys.argv[1:], "--dag", "--forceall", "--quiet", "all"]
    snakemake.cli.main()


if __name__ == "__main__":
    main()
