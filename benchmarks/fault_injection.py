"""Fault injection: kill random running jobs with SIGKILL, resume, and compare with a clean run.

    uv run python benchmarks/fault_injection.py --kills 20 [--config configs/tiny.yaml] [--seed 0]

1. A clean run of the config in a fresh directory; the digest of every artifact (each path with a
   ``.prov.json`` sidecar) is recorded.
2. In another fresh directory, ``snakemake`` is started; after a random delay a random running job (a
   Python process running one of the rule scripts) is killed with SIGKILL. Snakemake sees the job fail
   and stops; it is started again with ``--rerun-incomplete``. This repeats until ``--kills`` jobs have
   been killed, then the run completes undisturbed.
3. ``manifold-xai verify results/`` must pass in the faulty directory; every artifact must have a
   sidecar, no temporary (``.*.tmp-*``) or training state (``.resume``) may be left, and every digest must
   equal the clean run's.

Prints one JSON line per kill and a summary; the last two lines are ``corrupted: N`` (artifacts that
fail verify, lack a sidecar, or were left half-written) and ``identical: true|false`` (every digest equal
to the clean run's).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from manifold_xai.store import sha256_path

REPO = Path(__file__).resolve().parents[1]


def snakemake_cmd(workdir: Path, config: Path, cores: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--cores",
        str(cores),
        "--rerun-incomplete",
        *extra,
    ]


def artifacts(workdir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every artifact (path with a sidecar) under ``results/``."""
    results = workdir / "results"
    found = {}
    for sidecar in results.rglob("*.prov.json"):
        artifact = sidecar.with_name(sidecar.name[: -len(".prov.json")])
        found[str(artifact.relative_to(workdir))] = (
            sha256_path(artifact) if artifact.exists() else "missing"
        )
    return found


def leftovers(workdir: Path) -> list[str]:
    """Half-written or unaccounted-for things under ``results/``: temporaries (``.*.tmp-*``), training
    states (``.resume``) and files that belong to no artifact (no sidecar of their own or of a parent)."""
    bad = []

    def walk(folder: Path) -> None:
        for path in sorted(folder.iterdir()):
            if ".tmp-" in path.name or path.name == ".resume":
                bad.append(path)
            elif (
                path.name.endswith(".prov.json")
                or path.with_name(path.name + ".prov.json").exists()
            ):
                continue  # a sidecar, or an artifact (checked by verify)
            elif path.is_dir():
                walk(path)
            else:
                bad.append(path)

    for top in (workdir / "results").iterdir():
        if top.name not in ("logs", "benchmarks"):
            walk(top) if top.is_dir() else None
    return [str(p.relative_to(workdir)) for p in bad]


def running_jobs(workdir: Path) -> list[psutil.Process]:
    """Python processes running a rule script of this workdir's Snakemake (``.snakemake/scripts/``)."""
    jobs = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if ".snakemake/scripts/" in cmd and proc.info["cwd"] == str(workdir):
                jobs.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return jobs


def faulty_run(
    workdir: Path, config: Path, cores: int, kills: int, rng: random.Random, max_delay: float
) -> list[dict]:
    events: list[dict] = []
    while len(events) < kills:
        proc = subprocess.Popen(
            snakemake_cmd(workdir, config, cores),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        delay = rng.uniform(1.0, max_delay)
        deadline = time.monotonic() + delay
        victim = None
        while proc.poll() is None:
            if time.monotonic() >= deadline:
                jobs = running_jobs(workdir)
                if jobs:
                    victim = rng.choice(jobs)
                    break
            time.sleep(0.05)
        if victim is None:  # the run finished before a job could be killed
            return events
        script = next(
            (part for part in victim.info["cmdline"] if ".snakemake/scripts/" in part), "?"
        )
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
        rule = Path(script).name.split(".", 1)[-1].removesuffix(".py")
        events.append({"kill": len(events) + 1, "job": rule, "after_s": round(delay, 1)})
        print(json.dumps(events[-1]), flush=True)
        proc.wait()
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--config", default=str(REPO / "configs" / "tiny.yaml"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-delay", type=float, default=60.0, help="longest wait (s) before a kill"
    )
    parser.add_argument("--workdir", help="keep the two runs here (default: a temporary directory)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    config = Path(args.config).resolve()
    base = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="fault-injection-"))
    clean, faulty = base / "clean", base / "faulty"
    clean.mkdir(parents=True), faulty.mkdir(parents=True)

    start = time.monotonic()
    subprocess.run(snakemake_cmd(clean, config, args.cores), check=True, capture_output=True)
    reference = artifacts(clean)
    print(
        json.dumps(
            {"clean_run_s": round(time.monotonic() - start, 1), "artifacts": len(reference)}
        ),
        flush=True,
    )

    start = time.monotonic()
    events = faulty_run(faulty, config, args.cores, args.kills, rng, args.max_delay)
    final = subprocess.run(
        snakemake_cmd(faulty, config, args.cores), capture_output=True, text=True
    )
    if final.returncode != 0:
        print(final.stderr[-3000:], file=sys.stderr)
    verify = subprocess.run(
        [sys.executable, "-m", "manifold_xai.cli", "verify", "results/"],
        cwd=faulty,
        capture_output=True,
        text=True,
    )
    result = artifacts(faulty)
    failed_verify = [
        line for line in verify.stdout.splitlines() if line and not line.startswith("verify:")
    ]
    stray = leftovers(faulty)
    differing = sorted(p for p in set(reference) | set(result) if reference.get(p) != result.get(p))
    summary = {
        "kills": len(events),
        "killed_rules": sorted({e["job"] for e in events}),
        "faulty_run_s": round(time.monotonic() - start, 1),
        "final_run_exit": final.returncode,
        "verify_exit": verify.returncode,
        "verify_findings": failed_verify,
        "leftovers": stray,
        "artifacts": len(result),
        "differing_from_clean": differing,
        "workdir": str(base),
    }
    print(json.dumps(summary, indent=1))
    corrupted = len(set(failed_verify) | set(stray)) + (final.returncode != 0)
    print(f"corrupted: {corrupted}")
    print(f"identical: {str(not differing and len(result) == len(reference)).lower()}")
    sys.exit(0 if corrupted == 0 and not differing else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
