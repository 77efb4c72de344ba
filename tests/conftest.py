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


def code_blocks(path: Path, language: str, heading: str | None = None) -> list[str]:
    """The ``language`` code blocks of the Markdown file ``path`` (of its ``## heading`` section only,
    when given), in order."""
    text = path.read_text()
    if heading is not None:
        text = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [part.split("```", 1)[0] for part in text.split(f"```{language}\n")[1:]]


@pytest.fixture(autouse=True)
def _torch_single_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)
