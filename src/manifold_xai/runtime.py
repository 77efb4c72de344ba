"""Seeds, devices and threads for a job: everything that makes a CPU run repeatable.

torch is imported inside the functions that need it: the Snakefile imports this module (for
``prepend_pythonpath``), and every Snakemake invocation, dry runs included, would otherwise pay torch's
two-second import.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def derive_seed(base_seed: int, *keys: str | int) -> int:
    """A 31-bit seed derived from ``base_seed`` and a stage name, stable across Python processes."""
    text = ":".join([str(base_seed), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and ask torch for deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries may still draw from the legacy global RNG)
    torch.manual_seed(seed)
    use_deterministic_kernels(torch)
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def use_deterministic_kernels(torch) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without its import of TorchInductor.

    That call also sets the compiler's flag, and importing ``torch._inductor.config`` loads TorchDynamo:
    2.5 s per job on a 2-core machine, as much as importing torch itself. No job compiles a model, so
    unless the compiler is already loaded only the eager kernels' flag is set (the same flag
    ``torch.are_deterministic_algorithms_enabled`` reads)."""
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)


GPU_LOCK_DIR = Path(".snakemake") / "gpu-locks"
_held_gpu_locks: list = []  # open lock files: a GPU stays this process's until it exits


def acquire_gpu(n_gpus: int, lock_dir: Path = GPU_LOCK_DIR) -> int:
    """Index of a GPU no other running job holds, claimed with an exclusive ``flock`` on
    ``lock_dir/gpu{i}.lock`` that is released when this process exits (or is killed). Snakemake does
    not set ``CUDA_VISIBLE_DEVICES`` for local jobs, so without this every job would take GPU 0. When
    all are taken (more concurrent GPU jobs than GPUs) it waits for one to be released."""
    import fcntl
    import time

    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(n_gpus):
            handle = open(lock_dir / f"gpu{i}.lock", "a+")  # noqa: SIM115 (held until exit)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held_gpu_locks.append(handle)
            return i
        time.sleep(1.0)


def resolve_device(request: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` are taken as given.

    ``auto`` or ``cuda`` with several visible GPUs and no ``CUDA_VISIBLE_DEVICES`` (a local machine;
    SLURM sets it to the job's own GPUs) takes a GPU that no other job holds (``acquire_gpu``)."""
    import torch

    if request in ("auto", "cuda") and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if count > 1 and "CUDA_VISIBLE_DEVICES" not in os.environ:
            return torch.device(f"cuda:{acquire_gpu(count)}")
    if request == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(request)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {request!r} requested but CUDA is not available on this machine"
        )
    return device


def describe_device(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


def set_threads(n: int) -> None:
    """torch's intra-op threads: ``n``. Set at once when torch is imported; otherwise through
    ``OMP_NUM_THREADS``, which torch reads when a later import starts it (a job that needs no model,
    such as a figure's, never imports torch)."""
    n = max(1, int(n))
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


@contextlib.contextmanager
def dask_scheduler(
    threads: int, address: str | None = None, timeout: str = "30s"
) -> Iterator[None]:
    """Where Dask computations in the block run: a local threads scheduler with ``threads`` workers
    (the job's ``threads:``), or the distributed scheduler at ``address`` (``tcp://host:8786``), reached
    within ``timeout`` (a Dask duration). A worker lost during a computation is the scheduler's to
    recover: it recomputes the lost pieces on the workers that remain."""
    import dask

    if not address:
        with dask.config.set(scheduler="threads", num_workers=max(1, int(threads))):
            yield
        return
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except OSError as e:
        raise RuntimeError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout} (config dask.address, "
            f"dask.timeout): {e}"
        ) from e
    try:
        with dask.config.set(scheduler=client):
            yield
    finally:
        client.close()


def prepend_pythonpath(path: str | os.PathLike) -> None:
    """Put ``path`` first on ``PYTHONPATH`` (once), for every job this process starts."""
    path = os.fspath(path)
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if path not in entries:
        os.environ["PYTHONPATH"] = os.pathsep.join([path, *entries])
