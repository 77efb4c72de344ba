"""Fault injection: kill trainings after saved epochs (and random other jobs), resume, compare with a clean run.

    uv run python benchmarks/fault_injection.py                                  # default config
    uv run python benchmarks/fault_injection.py --reference /path/to/clean/run   # reuse a clean run
    uv run python benchmarks/fault_injection.py --slurm --override device=cpu --target results/digits/seed0/manifold/model.pt
    uv run python benchmarks/fault_injection.py --config configs/tiny.yaml --kills 20

1. A clean run of the config in a fresh directory (or ``--reference``: the working directory of a run
   of the same config and code made before); the digest of every artifact (each path with a
   ``.prov.json`` sidecar) is recorded.
2. In another fresh directory the same run is started while a monitor watches the running jobs (the
   Python processes running a rule script of that directory). **Every training job** (the resumable
   rules: classifier, manifold and denoiser training) is killed once, right after its log says
   ``saved training state …: epoch 1``, so its re-run must resume from the saved state; ``--kills N``
   more kills hit random other jobs at random moments. Locally a kill is SIGKILL (an OOM kill); Snakemake
   sees the job fail, finishes what runs and stops, and is started again with ``--rerun-incomplete``.
   With ``--slurm`` the run goes through ``profiles/slurm`` on a private single-node SLURM cluster
   (``tools/slurm_cluster.py``: needs root and Debian's slurmctld, slurmd and munge), a kill is
   ``scancel`` of the job's SLURM job (a preemption), and Snakemake's retries (the profile's
   ``retries: 2``) resubmit it in the same run.
3. ``manifold-xai verify results/`` must pass in the faulty directory; every artifact must have a
   sidecar, no temporary (``.*.tmp-*``) or training state (``.resume``) may be left, every killed
   training's final log must say it resumed, and every digest must equal the clean run's.

Prints one JSON line per kill and a summary; the last lines are ``resumed: R/T`` (killed trainings that
resumed from their saved state), ``corrupted: N`` (artifacts that fail verify, lack a sidecar, or were
left half-written, plus a failed final run) and ``identical: true|false`` (every digest equal to the
clean run's). Exit status 0 only when nothing is corrupted, all is identical and every kill resumed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from manifold_xai.store import sha256_path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # helpers shared with the tests
import slurm_cluster  # noqa: E402
from snakemake_cli import snakemake_command  # noqa: E402

TRAINING_RULES = ("train_classifier", "train_manifold", "train_denoiser")  # resumable per epoch
SAVED = re.compile(r"saved training state \S+: epoch (\d+)")
RESUMED = re.compile(r"resuming from \S+: epoch (\d+)")
MAX_RESTARTS = 50


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

    for top in (workdir / "results").iterdir() if (workdir / "results").is_dir() else ():
        if top.name not in ("logs", "benchmarks"):
            walk(top) if top.is_dir() else None
    return [str(p.relative_to(workdir)) for p in bad]


class Job:
    """A running rule script of the watched directory: its process, rule and log file."""

    def __init__(self, proc: psutil.Process, workdir: Path):
        self.proc = proc
        script = next(p for p in proc.info["cmdline"] if ".snakemake/scripts/" in p)
        self.rule = Path(script).name.split(".", 1)[-1].removesuffix(".py")
        logs = workdir / "results" / "logs"
        try:
            opened = [Path(f.path) for f in proc.open_files()]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            opened = []
        self.log = next((p for p in opened if p.is_relative_to(logs)), None)

    @property
    def name(self) -> str:
        return str(self.log.relative_to(self.log.parents[1])) if self.log else self.rule

    def saved_epoch(self) -> int | None:
        """The last epoch whose training state this job's log says it saved (None: none yet)."""
        try:
            found = SAVED.findall(self.log.read_text()) if self.log else []
        except OSError:
            return None
        return int(found[-1]) if found else None


def running_jobs(workdir: Path) -> list[Job]:
    """Rule scripts running in ``workdir`` (Python processes with ``.snakemake/scripts/`` in their
    command line and the directory as their working directory), wherever they were started from:
    Snakemake's local jobs or SLURM job steps on this node."""
    jobs = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if ".snakemake/scripts/" in cmd and proc.info["cwd"] == str(workdir):
                jobs.append(Job(proc, workdir))
        except (psutil.NoSuchProcess, psutil.AccessDenied, StopIteration):
            continue
    return jobs


class Killer:
    """Kills a job: SIGKILL of its process, or with ``cluster`` ``scancel`` of its SLURM job."""

    def __init__(self, cluster=None):
        self.cluster = cluster

    def __call__(self, job: Job) -> str:
        try:
            if self.cluster is None:
                job.proc.send_signal(signal.SIGKILL)
                return "SIGKILL"
            slurm_id = job.proc.environ().get("SLURM_JOB_ID")
            self.cluster.run("scancel", slurm_id)
            return f"scancel {slurm_id}"
        except psutil.NoSuchProcess:
            return "gone"


def faulty_run(
    workdir: Path,
    command: list[str],
    env: dict,
    kill,
    random_kills: int,
    rng: random.Random,
    max_delay: float,
) -> tuple[list[dict], int, int]:
    """Run ``command`` to completion while killing each training once after its first saved epoch and
    ``random_kills`` other jobs at random moments, restarting Snakemake whenever it stops on a failure.
    Returns the kill events, the number of restarts and the last exit status."""
    events: list[dict] = []
    killed_trainings: set[str] = set()
    start = time.monotonic()
    restarts, status = 0, 1
    while restarts <= MAX_RESTARTS:
        log = open(workdir.parent / f"{workdir.name}.snakemake.{restarts}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        next_random = time.monotonic() + rng.uniform(1.0, max_delay)
        kills_before = len(events)
        while proc.poll() is None:
            for job in running_jobs(workdir):
                event = None
                if job.rule in TRAINING_RULES and job.name not in killed_trainings:
                    epoch = job.saved_epoch()
                    if epoch is not None:
                        killed_trainings.add(job.name)
                        event = {"job": job.name, "rule": job.rule, "after_saved_epoch": epoch}
                elif (
                    job.rule not in TRAINING_RULES
                    and random_kills > sum("after_saved_epoch" not in e for e in events)
                    and time.monotonic() >= next_random
                ):
                    next_random = time.monotonic() + rng.uniform(1.0, max_delay)
                    event = {"job": job.name, "rule": job.rule, "random": True}
                if event:
                    event["how"] = kill(job)
                    event["at_s"] = round(time.monotonic() - start, 1)
                    events.append({"kill": len(events) + 1, **event})
                    print(json.dumps(events[-1]), flush=True)
            time.sleep(0.2)
        log.close()
        status = proc.returncode
        if status == 0 or len(events) == kills_before:
            break  # finished, or failed with no kill of ours: a real failure, reported by the caller
        restarts += 1
    return events, restarts, status


def resumed(workdir: Path, events: list[dict]) -> dict[str, int | None]:
    """For each killed training: the epoch its final log says it resumed from (None: it did not)."""
    found = {}
    for event in events:
        if "after_saved_epoch" in event:
            text = (workdir / "results" / "logs" / event["job"]).read_text()
            match = RESUMED.search(text)
            found[event["job"]] = int(match.group(1)) if match else None
    return found


def start_slurm(root: Path) -> slurm_cluster.Cluster:
    why = slurm_cluster.missing()
    if why:
        sys.exit(f"fault_injection: --slurm: {why}")
    return slurm_cluster.start(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--kills", type=int, default=0, help="random kills of other jobs")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-delay", type=float, default=60.0, help="longest wait (s) before a random kill"
    )
    parser.add_argument("--workdir", help="keep the runs here (default: a temporary directory)")
    parser.add_argument(
        "--reference", help="the working directory of a clean run of the same config and code"
    )
    parser.add_argument(
        "--slurm", action="store_true", help="run through profiles/slurm on a private cluster"
    )
    parser.add_argument("--target", nargs="*", default=[], help="files to make (default: all)")
    parser.add_argument(
        "--override",
        nargs="*",
        default=[],
        help="KEY=VALUE config overrides for both runs, e.g. device=cpu on a cluster without GPUs",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    config = Path(args.config).resolve()
    base = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="fault-injection-"))
    faulty = base / "faulty"
    faulty.mkdir(parents=True)
    for folder in ("examples",):  # configs may name files under examples/
        (faulty / folder).symlink_to(REPO / folder)

    overrides = (
        ["--config", *args.override] if args.override else []
    )  # last: --config takes every KEY=VALUE after it
    if args.reference:
        clean = Path(args.reference).resolve()
        print(json.dumps({"reference": str(clean)}), flush=True)
    else:
        clean = base / "clean"
        clean.mkdir()
        (clean / "examples").symlink_to(REPO / "examples")
        start = time.monotonic()
        subprocess.run(
            snakemake_command(
                clean, "--cores", str(args.cores), *args.target, *overrides, configfiles=[config]
            ),
            check=True,
            capture_output=True,
        )
        print(json.dumps({"clean_run_s": round(time.monotonic() - start, 1)}), flush=True)
    reference = artifacts(clean)

    cluster = None
    env = dict(os.environ)
    extra: list[str] = []
    if args.slurm:
        cluster = start_slurm(base / "slurm")
        env = cluster.env
        extra = ["--profile", str(REPO / "profiles" / "slurm"), "--slurm-no-account"]
    command = snakemake_command(
        faulty,
        "--cores",
        str(args.cores),
        "--rerun-incomplete",
        *extra,
        *args.target,
        *overrides,
        configfiles=[config],
    )
    start = time.monotonic()
    try:
        events, restarts, _ = faulty_run(
            faulty, command, env, Killer(cluster), args.kills, rng, args.max_delay
        )
        final = subprocess.run(command, env=env, capture_output=True, text=True)
    finally:
        if cluster is not None:
            slurm_cluster.stop(cluster)
    if final.returncode != 0:
        print(final.stdout[-3000:] + final.stderr[-3000:], file=sys.stderr)
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
    compared = set(result) if args.target else set(reference) | set(result)
    differing = sorted(p for p in compared if reference.get(p) != result.get(p))
    resumes = resumed(faulty, events)
    summary = {
        "mode": "slurm" if args.slurm else "local",
        "config": str(config),
        "targets": args.target or "all",
        "kills": len(events),
        "killed_rules": sorted({e["rule"] for e in events}),
        "trainings_killed": len(resumes),
        "resumed_from_epoch": resumes,
        "snakemake_restarts": restarts,
        "faulty_run_s": round(time.monotonic() - start, 1),
        "final_run_exit": final.returncode,
        "verify_exit": verify.returncode,
        "verify_findings": failed_verify,
        "leftovers": stray,
        "artifacts": len(result),
        "compared": len(compared),
        "differing_from_clean": differing,
        "workdir": str(base),
    }
    print(json.dumps(summary, indent=1))
    n_resumed = sum(epoch is not None for epoch in resumes.values())
    corrupted = len(set(failed_verify) | set(stray)) + (final.returncode != 0)
    print(f"resumed: {n_resumed}/{len(resumes)}")
    print(f"corrupted: {corrupted}")
    print(f"identical: {str(not differing).lower()}")
    sys.exit(0 if corrupted == 0 and not differing and n_resumed == len(resumes) else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
