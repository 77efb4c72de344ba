"""Run a rule script in-process the way Snakemake runs it: a stand-in ``snakemake`` object (inputs,
outputs, params, wildcards, log) and the script executed as ``__main__``. Returns the exit status and
what the job printed to stderr."""

from __future__ import annotations

import contextlib
import io
import runpy
from types import SimpleNamespace

from conftest import REPO


class Named(list):
    """Snakemake's Namedlist: a list whose items are also attributes."""

    def __init__(self, **kw):
        super().__init__(kw.values())
        self.__dict__.update(kw)
        self._kw = kw

    def items(self):
        return self._kw.items()

    def get(self, key, default=None):
        return self._kw.get(key, default)


class FakeSnakemake(SimpleNamespace):
    """The attributes of the `snakemake` object that manifold_xai.jobs uses."""


def with_prov(**paths):
    named = {}
    for name, path in paths.items():
        named[name] = path
        named[f"{name}_prov"] = f"{path}.prov.json"
    return named


def run_rule(
    script: str, *, input: dict, output: dict, params: dict, wildcards: dict, log
) -> tuple[int, str]:
    """``(exit status, stderr)`` of ``scripts/<script>.py`` run as a Snakemake job."""
    smk = FakeSnakemake(
        rule=script,
        input=Named(
            **{k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in input.items()}
        ),
        output=Named(**{k: str(v) for k, v in with_prov(**output).items()}),
        params=Named(**params),
        wildcards=Named(**wildcards),
        log=[str(log)],
        threads=1,
        scriptdir=str(REPO / "scripts"),
    )
    err = io.StringIO()
    status = 0
    with contextlib.redirect_stderr(err):
        try:
            runpy.run_path(
                str(REPO / "scripts" / f"{script}.py"),
                init_globals={"snakemake": smk},
                run_name="__main__",
            )
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    return status, err.getvalue()
