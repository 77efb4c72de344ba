"""Provenance records: one ``X.prov.json`` sidecar per artifact ``X`` (docs/architecture.md).

A record names the artifact and its sha256 content digest, the rule, wildcards and params that built it,
every input with its digest (taken from the input's own sidecar when it has one, so records link into a
Merkle DAG back to the raw data), the code version (package version, git commit, dirty flag and a digest
of ``src/``, ``scripts/`` and ``workflow/``, and the digest of each library module the job imported),
library versions, device, threads, seeds, times, host and
scheduler job id.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from manifold_xai.store import read_json, sha256_path, size_bytes, write_json

SCHEMA = "manifold-xai/provenance/1"
SIDECAR_SUFFIX = ".prov.json"
CODE_DIRS = ("src", "scripts", "workflow")
CODE_SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".rst", ".json", ""}
TRACKED_PACKAGES = (
    "manifold-xai",
    "torch",
    "torchvision",
    "captum",
    "numpy",
    "scipy",
    "scikit-learn",
    "zarr",
    "xarray",
    "dask",
    "pandas",
    "matplotlib",
    "snakemake",
)
SCHEDULER_ENV = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID")


def sidecar_path(artifact: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(artifact).rstrip('/')}{SIDECAR_SUFFIX}")


def is_sidecar(path: str | os.PathLike) -> bool:
    return os.fspath(path).endswith(SIDECAR_SUFFIX)


def now_iso(epoch: float | None = None) -> str:
    """UTC time as ISO 8601 to the millisecond: now, or at ``epoch`` (seconds since 1970)."""
    when = datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, UTC)
    return when.isoformat(timespec="milliseconds")


def code_digest(repo_root: Path) -> str:
    """sha256 over the workflow's own code (``src/``, ``scripts/``, ``workflow/``), in sorted path order."""
    h = hashlib.sha256()
    for sub in CODE_DIRS:
        base = repo_root / sub
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*")):
            if f.is_file() and f.suffix in CODE_SUFFIXES and "__pycache__" not in f.parts:
                h.update(f.relative_to(repo_root).as_posix().encode() + b"\0")
                h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def module_digests(repo_root: Path) -> dict[str, str]:
    """``{path relative to repo_root: sha256}`` of every ``manifold_xai`` module this process imported
    from ``repo_root/src``: the library code an artifact actually depends on (``manifold-xai stale``
    compares them with the files on disk). Rule scripts are tracked by Snakemake's own code trigger."""
    import sys

    src = (repo_root / "src").resolve()
    digests = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not (name == "manifold_xai" or name.startswith("manifold_xai.")) or not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(src) and path.is_file():
            digests[path.relative_to(repo_root.resolve()).as_posix()] = sha256_path(path)
    return dict(sorted(digests.items()))


def git_state(repo_root: Path) -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` for the repository holding the code."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo_root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = (
        git("status", "--porcelain", "--untracked-files=no", "--", *CODE_DIRS) if commit else None
    )
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def software_versions() -> dict:
    """Python's, the tracked packages' and torch's CUDA version; read once per process (every
    output's record asks twice), a fresh dict each call."""
    return dict(_software_versions())


@functools.cache
def _software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["cuda"] = torch_cuda_version()
    return versions


def torch_cuda_version() -> str | None:
    """The CUDA version torch was built for (``torch.version.cuda``; None: a CPU build or no torch).

    A job that never imported torch (figures, tables) reads it from torch's ``version.py`` rather than
    importing torch for one string (2.5 s)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.version.cuda
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(spec.submodule_search_locations[0], "version.py")
    for node in ast.parse(source.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "cuda" and node.value is not None:
            return ast.literal_eval(node.value)
    return None


def input_record(path: str | os.PathLike) -> dict:
    """Path and digest of one input; the digest comes from its sidecar when it has one."""
    path = Path(path)
    side = sidecar_path(path)
    if not is_sidecar(path) and side.is_file():
        return {
            "path": path.as_posix(),
            "sha256": read_json(side)["artifact"]["sha256"],
            "prov": side.as_posix(),
        }
    return {"path": path.as_posix(), "sha256": sha256_path(path), "prov": None}


def build_record(
    artifact: str | os.PathLike,
    *,
    rule: str,
    wildcards: Mapping,
    params: Mapping,
    inputs: Iterable[str | os.PathLike],
    repo_root: Path,
    device: str,
    threads: int,
    seeds: Mapping,
    started: str,
    metrics: Mapping | None = None,
    log: Iterable[str] = (),
    process_started: str | None = None,
) -> dict:
    artifact = Path(artifact)
    return {
        "schema": SCHEMA,
        "artifact": {
            "path": artifact.as_posix(),
            "sha256": sha256_path(artifact),
            "size_bytes": size_bytes(artifact),
            "kind": "directory" if artifact.is_dir() else "file",
        },
        "rule": rule,
        "wildcards": dict(wildcards),
        "params": dict(params),
        "inputs": [input_record(p) for p in inputs],
        "code": {
            "package_version": software_versions().get("manifold-xai"),
            **git_state(repo_root),
            "code_digest": code_digest(repo_root),
            "modules": module_digests(repo_root),
        },
        "software": software_versions(),
        "execution": {
            "device": device,
            "threads": threads,
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "scheduler_job_id": next(
                (os.environ[k] for k in SCHEDULER_ENV if k in os.environ), None
            ),
            "process_started": process_started,
            "started": started,
            "finished": now_iso(),
            **own_resources(),
            "log": list(log),
        },
        "seeds": dict(seeds),
        "metrics": dict(metrics or {}),
    }


def own_resources() -> dict:
    """This process's CPU seconds and peak resident memory (MB) so far: the job's own, also when a warm
    worker's child ran it and Snakemake's ``benchmark:`` file measured only the waiting interpreter."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "max_rss_mb": round(usage.ru_maxrss * rss_unit / 2**20, 1),
    }


def write_sidecar(artifact: str | os.PathLike, record: dict) -> Path:
    path = sidecar_path(artifact)
    write_json(path, record)
    return path
