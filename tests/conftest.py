"""Shared fixtures: repository paths and a small deterministic torch setup."""

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def with_examples(workdir: Path) -> Path:
    """``workdir`` with the repository's ``examples/`` in it: configs/tiny.yaml names an attribution
    function by a file path relative to the working directory."""
    import shutil

    shutil.copytree(REPO / "examples", Path(workdir) / "examples", dirs_exist_ok=True)
    return Path(workdir)


@pytest.fixture(autouse=True)
def _torch_single_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)
