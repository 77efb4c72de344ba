"""Classifier checkpoints on the tracking schedule, for training curves (docs/paper.md §7).

A checkpoint directory ``classifier/{regime}/checkpoints/`` holds one model file per saved step,
``step0000125.pt`` (the model format of ``manifold_xai.models.io``: state dict plus constructor
arguments, loaded with ``weights_only=True``), and ``index.json``::

    {"format": "manifold-xai/checkpoints/1", "class": "lenet", "kwargs": {...},
     "steps": [0, 1, ...], "epochs": [0, 1, ...], "files": ["step0000000.pt", ...]}

``epochs[i]`` is the epoch the step belongs to (0 before training). The directory is written to a
temporary sibling and renamed into place when training ends, so a killed job leaves no directory that
looks complete. Evaluating checkpoints is a separate rule: changing the evaluation never retrains.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from torch import nn

from manifold_xai.models.io import load_model, save_model
from manifold_xai.store import atomic_path, read_json, write_json
from manifold_xai.training.resume import TrainingState

FORMAT = "manifold-xai/checkpoints/1"
INDEX = "index.json"
log = logging.getLogger(__name__)


class CheckpointWriter:
    """``writer(step, epoch, model)`` saves the model when ``step`` is scheduled (the training loop's
    ``on_step``); ``writer.final(step, epoch, model)`` saves the last step whether scheduled or not."""

    def __init__(self, directory: Path, model_class: str, kwargs: dict, steps: Iterable[int]):
        self.directory, self.model_class, self.kwargs = Path(directory), model_class, dict(kwargs)
        self.scheduled = frozenset(int(s) for s in steps)
        self.saved: dict[int, tuple[int, str]] = {}  # step -> (epoch, file name)

    def __call__(self, step: int, epoch: int, model: nn.Module) -> None:
        if step in self.scheduled and step not in self.saved:
            self._save(step, epoch, model)

    def final(self, step: int, epoch: int, model: nn.Module) -> None:
        if step not in self.saved:
            self._save(step, epoch, model)

    def _save(self, step: int, epoch: int, model: nn.Module) -> None:
        name = f"step{step:07d}.pt"
        save_model(self.directory / name, self.model_class, self.kwargs, model)
        self.saved[step] = (epoch, name)

    def index(self) -> dict:
        steps = sorted(self.saved)
        return {
            "format": FORMAT,
            "class": self.model_class,
            "kwargs": self.kwargs,
            "steps": steps,
            "epochs": [self.saved[s][0] for s in steps],
            "files": [self.saved[s][1] for s in steps],
        }


def _missing(directory: Path, saved: dict) -> list[str]:
    """The file names of ``saved`` (``{step: (epoch, name)}``) that ``directory`` lacks, sorted."""
    return sorted(name for _, name in saved.values() if not (directory / name).is_file())


@contextlib.contextmanager
def checkpoint_directory(
    path: str | os.PathLike,
    model_class: str,
    kwargs: dict,
    steps: Iterable[int],
    resume: TrainingState | None = None,
) -> Iterator[CheckpointWriter]:
    """A ``CheckpointWriter`` into a temporary sibling of ``path``, renamed into place with its index
    when the block ends without an exception.

    With ``resume`` (the job's ``TrainingState``) the checkpoints go into its directory
    (``.resume/checkpoints``) instead and stay after a failure; every state the job saves records them
    (its ``checkpoints`` entry), and the writer starts with those of the state it resumes from. A state
    whose checkpoint files are gone is discarded, so training starts over rather than leave a curve
    with holes. The finished directory gets hard links to the files (copies where links cannot be
    made), so they stay in the state until the job clears it: a job killed after this point still finds
    them there."""
    if resume is not None:
        partial = resume.directory / "checkpoints"
        saved = {int(k): tuple(v) for k, v in (resume.load() or {}).get("checkpoints", {}).items()}
        if _missing(partial, saved):
            log.warning("discarding %s: its checkpoints are missing", resume.path)
            resume.clear()
            saved = {}
        partial.mkdir(parents=True, exist_ok=True)
        writer = CheckpointWriter(partial, model_class, kwargs, steps)
        writer.saved.update(saved)
        own = resume.extra
        resume.extra = lambda: {**own(), "checkpoints": dict(writer.saved)}
        yield writer
        if not writer.saved:
            raise RuntimeError(f"no checkpoint was saved into {path}")
        missing = _missing(partial, writer.saved)
        if missing:
            raise RuntimeError(f"{partial}: saved checkpoints are missing: {missing[:5]}")
        with atomic_path(path) as tmp:
            tmp.mkdir()
            for _, name in sorted(writer.saved.values()):
                # files saved after the last epoch state by a killed run stay out
                try:
                    os.link(partial / name, tmp / name)
                except OSError:
                    shutil.copy2(partial / name, tmp / name)
            write_json(tmp / INDEX, writer.index())
        return
    with atomic_path(path) as tmp:
        tmp.mkdir()
        writer = CheckpointWriter(tmp, model_class, kwargs, steps)
        yield writer
        if not writer.saved:
            raise RuntimeError(f"no checkpoint was saved into {path}")
        write_json(tmp / INDEX, writer.index())


def read_index(path: str | os.PathLike) -> dict:
    """The index of a checkpoint directory, checked against the files present."""
    path = Path(path)
    index_path = path / INDEX
    if not index_path.is_file():
        raise ValueError(f"{path} is not a checkpoint directory: {INDEX} is missing")
    index = read_json(index_path)
    if index.get("format") != FORMAT:
        raise ValueError(f"{index_path}: not a manifold-xai checkpoint index ({FORMAT})")
    missing = [f for f in index["files"] if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{path}: checkpoint files listed in {INDEX} are missing: {missing[:5]}")
    return index


def load_checkpoint(path: str | os.PathLike, index: dict, step: int, device="cpu") -> nn.Module:
    """The model saved at ``step`` (eval mode)."""
    try:
        name = index["files"][index["steps"].index(step)]
    except ValueError:
        raise KeyError(f"{path} has no checkpoint at step {step}") from None
    return load_model(Path(path) / name, device, expect=index["class"])
