"""Shared fixtures: repository paths and a small deterministic torch setup."""

import os
import shutil
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def chromium_binary() -> str | None:
    """Debian's headless Chromium (installed by .ci/run) for the browser tests, None where absent; with
    MANIFOLD_XAI_REQUIRE_CHROMIUM set, its absence fails the test instead of skipping it."""
    found = next(
        (shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)),
        None,
    )
    if found is None and os.environ.get("MANIFOLD_XAI_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is required (MANIFOLD_XAI_REQUIRE_CHROMIUM is set) but not installed")
    return found


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


# The files with the longest runs, longest first. pytest-xdist hands whole files to its two workers
# (--dist loadfile) in collection order (--no-loadscope-reorder; its default order, most tests first,
# started the two longest files last), so each worker starts on a long file and the short ones fill in
# at the end: longest-processing-time-first scheduling.
LONGEST_FIRST = (
    "test_source_kinds_end_to_end.py",
    "test_workflow.py",
    "test_cluster.py",
    "test_own_models_end_to_end.py",
    "test_bad_input.py",
    "test_resume.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def _torch_single_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)
