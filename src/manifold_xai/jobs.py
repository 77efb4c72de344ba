"""Run a library step as a Snakemake job: the one adapter between rule scripts and the library.

It takes the ``snakemake`` object a ``script:`` receives (duck-typed: no Snakemake import here), logs to
the rule's ``log:`` file, sizes torch's thread pool from ``threads:``, seeds each stage from the ``seed``
wildcard, resolves the device from ``params.device``, and when the step returns writes one provenance
sidecar per declared output. Every output ``X`` must be declared together with ``X.prov.json``.

Usage in a rule script::

    from manifold_xai.jobs import run_job
    def main(job): ...
    run_job(snakemake, main)
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from manifold_xai import worker

# The library (provenance, runtime: numpy and zarr) is imported where it is used: a job's interpreter
# that hands itself over to the warm worker imports nothing more than this module and the standard
# library.

if TYPE_CHECKING:  # figure and summary jobs never import torch (runtime.set_threads)
    import torch

    from manifold_xai.training.resume import TrainingState

log = logging.getLogger("manifold_xai")


class Job:
    """What a step needs from its Snakemake job: inputs, outputs, params, seeds, device, metrics."""

    def __init__(self, smk):
        self._smk = smk
        self.rule: str = smk.rule
        self.input = smk.input
        self.output = smk.output
        self.params: dict = dict(smk.params.items())
        self.wildcards: dict = dict(smk.wildcards.items())
        self.threads: int = int(smk.threads)
        self.log_files: list[str] = list(smk.log)
        self.repo_root = Path(smk.scriptdir).resolve().parent
        self.seeds: dict[str, int] = {}
        self.metrics: dict = {}
        self._device: torch.device | None = None

    @property
    def base_seed(self) -> int:
        if "seed" not in self.wildcards:
            raise KeyError(f"rule {self.rule} has no seed wildcard")
        return int(self.wildcards["seed"])

    def manifold_context(self, methods: dict[str, dict], rows):
        """The manifold context of data ``rows`` for the attribution ``methods`` that use the manifold
        (``attribution.context.context_for``; None when none does), from the job's ``manifold`` input,
        ``data`` input and ``tangent`` param."""
        from manifold_xai.attribution.context import context_for

        return context_for(
            methods,
            self.input.get("manifold"),
            self.input.data,
            rows,
            self.params.get("tangent"),
            self.device,
        )

    def seed(self, stage: str) -> int:
        """Seed every RNG (Python, NumPy, torch) for ``stage`` from the run's seed; recorded in
        provenance."""
        from manifold_xai.runtime import seed_everything

        value = self.stage_seed(stage)
        seed_everything(value)
        return value

    def stage_seed(self, stage: str) -> int:
        """The seed of ``stage``, derived from the run's seed and recorded in provenance, without
        seeding any global RNG: for jobs that draw from their own ``np.random.default_rng(seed)`` and
        run no model (figures, the alignment bootstrap), which then never import torch."""
        from manifold_xai.runtime import derive_seed

        value = derive_seed(self.base_seed, self.wildcards.get("dataset", ""), stage)
        self.seeds[stage] = value
        return value

    @property
    def device_request(self) -> str:
        """``params.device`` as asked (``auto``, ``cpu``, ``cuda:N``), for steps that resolve it only
        if they run a model (``tangent.space.open_tangent_space``)."""
        return self.params.get("device", "auto")

    @property
    def device(self) -> torch.device:
        if self._device is None:
            from manifold_xai.runtime import describe_device, resolve_device

            self._device = resolve_device(self.device_request)
            log.info("device: %s", describe_device(self._device))
        return self._device

    def training_state(self, extra=None) -> TrainingState:
        """The resumable-training state of this job, beside its ``model`` output (``.resume/``), keyed by
        the job's params and its inputs' provenance sidecars (see ``manifold_xai.training.resume``)."""
        from manifold_xai.provenance import records as provenance
        from manifold_xai.training.resume import TrainingState, fingerprint

        sidecars = [str(p) for p in self.input if provenance.is_sidecar(str(p))]
        return TrainingState(
            Path(self.output.model).parent / ".resume", fingerprint(self.params, sidecars), extra
        )

    def dataset_rows(self, csv: str):
        """The rows of summary table ``csv`` for this job's ``dataset`` wildcard (a pandas DataFrame);
        none is an error naming the table and the dataset."""
        import pandas as pd

        dataset = self.wildcards["dataset"]
        table = pd.read_csv(csv)
        table = table[table["dataset"] == dataset]
        if table.empty:
            raise ValueError(f"{csv} has no rows for dataset {dataset!r}")
        return table

    def declared_artifacts(self) -> list[str]:
        from manifold_xai.provenance import records as provenance

        outputs = [str(p) for p in self.output]
        artifacts = [p for p in outputs if not provenance.is_sidecar(p)]
        missing = [p for p in artifacts if str(provenance.sidecar_path(p)) not in outputs]
        if missing:
            raise RuntimeError(
                f"rule {self.rule}: outputs without a declared .prov.json sidecar: {missing}"
            )
        return artifacts

    def write_provenance(self, started: str, process_started: str | None = None) -> None:
        from manifold_xai.provenance import records as provenance
        from manifold_xai.runtime import describe_device

        device = describe_device(self._device) if self._device is not None else "cpu"
        for artifact in self.declared_artifacts():
            record = provenance.build_record(
                artifact,
                rule=self.rule,
                wildcards=self.wildcards,
                params=self.params,
                inputs=[str(p) for p in self.input],
                repo_root=self.repo_root,
                device=device,
                threads=self.threads,
                seeds=self.seeds,
                started=started,
                metrics=self.metrics,
                log=self.log_files,
                process_started=process_started,
            )
            provenance.write_sidecar(artifact, record)


def job_tag(rule: str, wildcards: dict) -> str:
    """``rule dataset=… seed=…``: what each console line of a job starts with, so the lines of jobs
    running side by side can be told apart."""
    return " ".join([rule, *(f"{k}={v}" for k, v in wildcards.items())])


def _configure_logging(log_files: list[str], tag: str = "") -> None:
    console = logging.StreamHandler(sys.stderr)
    console.addFilter(lambda record: not record.exc_info)  # tracebacks go to the log files only
    console.setFormatter(logging.Formatter(f"%(asctime)s [{tag}] %(levelname)s %(message)s"))
    handlers: list[logging.Handler] = [console]
    for path in log_files:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(False)  # re-install: a second job in one process (tests) gets its own
    logging.captureWarnings(True)
    warnings.filterwarnings("default")
    for message, module in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)


# Warnings that say nothing about the job: Snakemake's timestamp file inside a directory output (a Zarr
# store) that zarr does not recognise, and torch's deprecation notice for TorchScript it uses itself.
QUIET_WARNINGS = (
    (r"Object at \.snakemake_timestamp is not recognized", ""),
    (r"`torch\.jit\.script` is deprecated", r"torch\."),
)


def run_job(smk, main: Callable[[Job], None]) -> None:
    """Run ``main(job)`` for a Snakemake job and write the provenance of its outputs.

    Where the run has a warm worker (``manifold_xai.worker``), this interpreter hands the whole script
    over to it first and exits with the status of the child that ran it there."""
    spawned = _process_started()
    handed = worker.hand_over(sys.argv, spawned)
    if handed is not None:
        sys.exit(handed)
    from manifold_xai.provenance import records as provenance
    from manifold_xai.runtime import set_threads

    job = Job(smk)
    _configure_logging(job.log_files, job_tag(job.rule, job.wildcards))
    set_threads(job.threads)
    process_started = provenance.now_iso(spawned) if spawned is not None else None
    started = provenance.now_iso()
    log.info("rule %s %s params=%s threads=%d", job.rule, job.wildcards, job.params, job.threads)
    try:
        main(job)
        job.write_provenance(started, process_started)
    except Exception as e:
        log.error("rule %s failed", job.rule, exc_info=True)
        sys.stderr.write(error_line(job, e) + "\n")
        sys.exit(1)
    log.info("rule %s done", job.rule)


def _process_started() -> float | None:
    """When this job's process started (seconds since 1970): the client's start when a warm worker's
    child runs the job, else this process's own."""
    handed = (
        os.environ.get(worker.ENV_PROCESS_STARTED) if os.environ.get(worker.ENV_CHILD) else None
    )
    return float(handed) if handed else worker.process_start_time()


def error_line(job: Job, error: BaseException) -> str:
    """The one line a failed job prints: rule, wildcards, the problem, and where the traceback is."""
    where = " ".join(f"{k}={v}" for k, v in job.wildcards.items())
    message = " ".join(str(error).split()) or type(error).__name__
    logs = f" (traceback in {job.log_files[0]})" if job.log_files else ""
    return f"manifold-xai error: rule {job.rule} {where}: {type(error).__name__}: {message}{logs}"
