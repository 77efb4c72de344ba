"""Seeds, devices and threads for a job: everything that makes a CPU run repeatable."""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import torch


def derive_seed(base_seed: int, *keys: str | int) -> int:
    """A 31-bit seed derived from ``base_seed`` and a stage name, stable across Python processes."""
    text = ":".join([str(base_seed), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries may still draw from the legacy global RNG)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def resolve_device(request: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cpu``/``cuda``/``cuda:N`` are taken as given."""
    if request == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(request)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {request!r} requested but CUDA is not available on this machine"
        )
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


def set_threads(n: int) -> None:
    torch.set_num_threads(max(1, int(n)))
