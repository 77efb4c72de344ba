"""benchmarks/gpu_check.sh, the one call prepared for a lent GPU machine: where there is no GPU it says so
in one line and exits non-zero, having checked nothing (the CUDA comparison itself needs the GPU)."""

import subprocess

import pytest
import torch

from conftest import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run")
def test_the_gpu_check_says_in_one_line_that_there_is_no_gpu():
    out = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert lines == [
        "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); "
        "nothing was checked"
    ], out.stdout + out.stderr
