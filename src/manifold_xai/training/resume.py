"""Resumable training: the state of a training loop at the end of each epoch, so a killed job (cluster
preemption, time limit, ``kill -9``) continues where it stopped and, on CPU, ends with the same model as
an uninterrupted run.

The state lives in a hidden directory beside the job's outputs (``classifier/{regime}/.resume/``), which
Snakemake neither declares nor deletes: ``state.pt`` holds the model, optimizer and scheduler state, the
minibatch/attack generator and torch's global RNG (dropout), the epoch, step and history, plus whatever
the job adds (the checkpoints saved so far). It is written atomically and loaded with
``weights_only=True``. A ``fingerprint`` of the job's params and inputs is stored with it: a state from
another configuration or other inputs is discarded, never resumed. The job removes the directory once
its outputs are written.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from manifold_xai.store import atomic_path

log = logging.getLogger(__name__)
FORMAT = "manifold-xai/resume/1"


def fingerprint(params: dict, input_files: list[str]) -> str:
    """sha256 over the params (canonical JSON) and the bytes of the given files (the inputs' provenance
    sidecars, which carry their content digests)."""
    h = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for path in sorted(input_files):
        h.update(path.encode() + b"\0" + Path(path).read_bytes())
    return h.hexdigest()


class TrainingState:
    """Save and restore a training loop's state in ``directory``; ``extra()`` adds the job's own
    entries (plain types and tensors) to every save."""

    def __init__(
        self, directory: str | Path, fingerprint: str, extra: Callable[[], dict] | None = None
    ):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.extra = extra or dict
        self.path = self.directory / "state.pt"
        self._loaded: dict | None = (
            None  # the state read at start-up (the job and its loop both ask)
        )

    def load(self) -> dict | None:
        """The saved state if there is one for this fingerprint; a stale or unreadable state is removed.
        Read once: later calls return the same state until the next ``save`` or ``clear``."""
        if self._loaded is None:
            self._loaded = {"state": self._read()}
        return self._loaded["state"]

    def _read(self) -> dict | None:
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # a torn or foreign file: start over rather than fail
            log.warning("discarding unreadable training state %s: %s", self.path, e)
            self.clear()
            return None
        if state.get("format") != FORMAT or state.get("fingerprint") != self.fingerprint:
            log.info(
                "discarding training state %s from another configuration or other inputs", self.path
            )
            self.clear()
            return None
        log.info("resuming from %s: epoch %d, step %d", self.path, state["epoch"], state["step"])
        return state

    def save(
        self,
        *,
        epoch: int,
        step: int,
        history: list[dict],
        model: nn.Module,
        optimizer,
        scheduler,
        generator: torch.Generator,
    ) -> None:
        sched = dict(scheduler.state_dict()) if scheduler is not None else {}
        if isinstance(
            sched.get("milestones"), collections.Counter
        ):  # MultiStepLR; Counter is not a weight
            sched["milestones"] = dict(sched["milestones"])
        state = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "step": step,
            "history": history,
            "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": sched,
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            **self.extra(),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)
        self._loaded = None
        log.info("saved training state %s: epoch %d, step %d", self.path, epoch, step)

    @staticmethod
    def restore(
        state: dict, *, model: nn.Module, optimizer, scheduler, generator: torch.Generator
    ) -> None:
        """Put ``state`` back into the model, optimizer, scheduler and RNGs."""
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        sched = dict(state["scheduler"])
        if isinstance(sched.get("milestones"), dict):
            sched["milestones"] = collections.Counter(sched["milestones"])
        if scheduler is not None:
            scheduler.load_state_dict(sched)
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        self._loaded = None
