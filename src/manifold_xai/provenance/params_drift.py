"""Params drift for ``manifold-xai stale``: artifacts whose recorded params differ from the params the
current config gives their rule.

Snakemake re-runs a job whose params changed only from its own metadata in ``.snakemake/``; a copy of
a finished run without it (an archive, another machine) says "Nothing to be done" after a config
change. Every sidecar records its job's rule, wildcards and params, so this module loads the Snakefile
through Snakemake's API with the current config (the same ``--configfile`` / ``--config`` a run would
get), evaluates each recorded job's ``params:`` for its wildcards, and names the keys that differ.

This is the one library module that loads the workflow; no job imports it (the CLI does).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from manifold_xai.provenance.audit import Records, sidecars_under


def _plain(value):
    """JSON's view of a value (tuples → lists, keys → strings), as a sidecar stores it."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def differing_keys(recorded, expected, prefix: str = "") -> list[str]:
    """Dotted paths at which two JSON-like values differ (a key on one side only counts)."""
    if isinstance(recorded, dict) and isinstance(expected, dict):
        keys = sorted(set(recorded) | set(expected))
        return [
            path
            for key in keys
            for path in (
                differing_keys(recorded.get(key), expected.get(key), f"{prefix}{key}.")
                if key in recorded and key in expected
                else [f"{prefix}{key}"]
            )
        ]
    return [] if recorded == expected else [prefix.rstrip(".") or "<value>"]


class WorkflowParams:
    """The params the Snakefile gives a rule's job for given wildcards under the given config."""

    def __init__(
        self,
        snakefile: Path,
        workdir: Path,
        configfiles: list[Path] = (),
        config: dict | None = None,
    ):
        from snakemake.api import SnakemakeApi
        from snakemake.settings.types import (
            ConfigSettings,
            OutputSettings,
            ResourceSettings,
            StorageSettings,
        )

        self._api = SnakemakeApi(OutputSettings(quiet=True)).__enter__()
        cwd = os.getcwd()
        try:
            workflow = self._api.workflow(
                resource_settings=ResourceSettings(),
                config_settings=ConfigSettings(
                    configfiles=[Path(f).resolve() for f in configfiles], config=config or {}
                ),
                storage_settings=StorageSettings(),
                snakefile=Path(snakefile).resolve(),
                workdir=Path(workdir).resolve(),
            )
            self._workflow = workflow._workflow
        finally:
            os.chdir(cwd)

    def close(self) -> None:
        self._api.__exit__(None, None, None)

    def params(self, rule: str, wildcards: dict) -> dict:
        from snakemake.iocontainers import Wildcards

        params = self._workflow.get_rule(rule).params
        values = Wildcards(fromdict=dict(wildcards))
        out = {}
        for name, (index, _) in params._names.items():
            value = params[index]
            out[name] = value(values) if callable(value) else value
        return _plain(out)


def drift(paths, workflow: WorkflowParams) -> list[tuple[str, str, list[str]]]:
    """``(artifact, rule, [why])`` for each artifact under ``paths`` whose recorded params differ from
    what ``workflow`` gives its rule now (or whose rule no longer exists)."""
    records, found = Records(), []
    for sidecar in sorted({s for p in paths for s in sidecars_under(p)}):
        record = records.record(sidecar)
        rule, artifact = record.get("rule"), record["artifact"]["path"]
        try:
            expected = workflow.params(rule, record.get("wildcards", {}))
        except Exception as e:  # noqa: BLE001 - a rule that is gone or whose params cannot be evaluated
            found.append((artifact, rule or "?", [f"params cannot be evaluated now ({e})"]))
            continue
        keys = differing_keys(_plain(record.get("params", {})), expected)
        if keys:
            found.append(
                (artifact, rule, [f"params differ from the current config at {', '.join(keys)}"])
            )
    return found
