"""Shared fixtures: repository paths and a small deterministic torch setup."""

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(autouse=True)
def _torch_single_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)
