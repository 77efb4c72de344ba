"""The command line that runs this repository's Snakefile in a working directory, shared by the tests
and the benchmarks (both run the real workflow the way a user does, from another directory).

``launcher`` replaces ``python -m snakemake``: the real-SLURM runs use ``tools/slurm_snakemake.py``
(the same Snakemake, with the executor's status checks closer together).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"
SNAKEMAKE = (sys.executable, "-m", "snakemake")
SLURM_SNAKEMAKE = (sys.executable, str(TOOLS / "slurm_snakemake.py"))


def snakemake_command(
    workdir: str | os.PathLike,
    *args: str,
    configfiles: Sequence[str | os.PathLike] = (),
    launcher: Sequence[str] = SNAKEMAKE,
) -> list[str]:
    """``launcher --snakefile <repo>/Snakefile --directory workdir [--configfile …] args…``: with no
    ``configfiles``, the repository's config.yaml (the default experiment)."""
    return [
        *launcher,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *(["--configfile", *map(str, configfiles)] if configfiles else []),
        *args,
    ]
