"""Auditing results from their ``.prov.json`` sidecars: lineage, integrity and stale code.

- ``lineage(artifact)``: the tree from an artifact back to the raw data, one node per artifact with the
  rule, wildcards, params, code version, content digest, seeds, device and times of the job that made it.
- ``verify(paths)``: recompute every artifact's digest, check every recorded input digest against the
  input as it is now (and against the input's own sidecar), and compare the library modules each job
  imported with the code on disk. Returns one ``Finding`` per problem; none means all is well.
- ``stale(paths)``: the artifacts built with library code that has changed since (``manifold-xai stale
  --rules`` feeds ``snakemake --forcerun``).

Paths inside sidecars are relative to the Snakemake working directory; the working directory is
recovered from each sidecar's location, so the commands work from anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from manifold_xai.provenance.records import SIDECAR_SUFFIX, code_digest, is_sidecar, sidecar_path
from manifold_xai.store import read_json, sha256_path


@dataclass(frozen=True)
class Finding:
    """One problem with one artifact. ``kind``: missing, digest, input, code, sidecar."""

    artifact: str
    kind: str
    detail: str
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.kind.upper():8s} {self.artifact}: {self.detail}"


def default_code_root() -> Path:
    """The source tree this package runs from (``src/manifold_xai/..`` → repository root)."""
    return Path(__file__).resolve().parents[3]


class Records:
    """Sidecars loaded once, digests computed once per path."""

    def __init__(self):
        self._records: dict[Path, dict] = {}
        self._digests: dict[Path, str | None] = {}

    def record(self, sidecar: Path) -> dict:
        sidecar = sidecar.resolve()
        if sidecar not in self._records:
            try:
                self._records[sidecar] = read_json(sidecar)
            except (OSError, ValueError) as e:
                raise ValueError(f"cannot read provenance sidecar {sidecar}: {e}") from e
        return self._records[sidecar]

    def digest(self, path: Path) -> str | None:
        """Current sha256 of a file or directory, ``None`` when it does not exist."""
        path = path.resolve()
        if path not in self._digests:
            self._digests[path] = sha256_path(path) if path.exists() else None
        return self._digests[path]


def workdir_of(sidecar: Path, record: dict) -> Path:
    """The working directory the record's relative paths refer to."""
    artifact = record["artifact"]["path"]
    full = os.fspath(sidecar.resolve())[: -len(SIDECAR_SUFFIX)]
    if not full.endswith(artifact):
        raise ValueError(f"{sidecar} records the artifact {artifact!r}, which is not where it lies")
    return Path(full[: len(full) - len(artifact)] or "/")


def sidecars_under(path: str | os.PathLike) -> list[Path]:
    """The sidecar of an artifact, or every sidecar under a directory that is not itself an artifact."""
    path = Path(path)
    if sidecar_path(path).is_file():
        return [sidecar_path(path)]
    if is_sidecar(path) and path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SIDECAR_SUFFIX}") if p.is_file())
    if path.exists():
        raise FileNotFoundError(
            f"{path} exists but has no provenance sidecar ({sidecar_path(path).name}): the pipeline "
            "did not write it, or wrote it before provenance was recorded"
        )
    raise FileNotFoundError(
        f"{path}: no such artifact or results folder (and no {SIDECAR_SUFFIX} sidecar)"
    )


def upstream_sidecars(sidecars: list[Path], records: Records) -> list[Path]:
    """``sidecars`` and every sidecar their inputs link to, transitively (each once)."""
    seen: dict[Path, None] = {}
    stack = [s.resolve() for s in sidecars]
    while stack:
        sidecar = stack.pop()
        if sidecar in seen:
            continue
        seen[sidecar] = None
        record = records.record(sidecar)
        workdir = workdir_of(sidecar, record)
        stack += [(workdir / i["prov"]).resolve() for i in record["inputs"] if i.get("prov")]
    return list(seen)


def _code_findings(
    record: dict, name: str, code_root: Path, records: Records, current_digest
) -> list[Finding]:
    modules = record.get("code", {}).get("modules")
    if modules:
        changed = []
        for rel, digest in modules.items():
            now = records.digest(code_root / rel)  # each module hashed once per verify
            if now is None:
                changed.append(f"{rel} (deleted)")
            elif now != digest:
                changed.append(rel)
        if changed:
            return [
                Finding(
                    name,
                    "code",
                    f"built with other versions of {', '.join(changed)}",
                    record["rule"],
                )
            ]
        return []
    if record.get("code", {}).get("code_digest") != current_digest():
        return [
            Finding(
                name,
                "code",
                "built from another code version (code digest differs)",
                record["rule"],
            )
        ]
    return []


def verify(
    paths, *, code_root: Path | None = None, check_code: bool = True, upstream: bool = True
) -> tuple[int, list[Finding]]:
    """Check the artifacts under ``paths`` (artifacts or results folders), and everything upstream of
    them when ``upstream``. Returns ``(artifacts checked, findings)``."""
    records = Records()
    sidecars = [s for p in paths for s in sidecars_under(p)]
    if upstream:
        sidecars = upstream_sidecars(sidecars, records)
    code_root = code_root or default_code_root()
    cache: list[str] = []

    def current_digest() -> str:
        if not cache:
            cache.append(code_digest(code_root))
        return cache[0]

    findings = []
    for sidecar in sidecars:
        try:
            record = records.record(sidecar)
            workdir = workdir_of(sidecar, record)
        except (ValueError, KeyError) as e:
            findings.append(Finding(os.fspath(sidecar), "sidecar", str(e)))
            continue
        name = record["artifact"]["path"]
        digest = records.digest(workdir / name)
        if digest is None:
            findings.append(Finding(name, "missing", "the artifact does not exist"))
        elif digest != record["artifact"]["sha256"]:
            findings.append(
                Finding(
                    name,
                    "digest",
                    f"content changed since it was built (sha256 {digest[:12]}, "
                    f"recorded {record['artifact']['sha256'][:12]})",
                )
            )
        for inp in record["inputs"]:
            now = records.digest(workdir / inp["path"])
            if now is None:
                findings.append(Finding(name, "input", f"input {inp['path']} no longer exists"))
            elif now != inp["sha256"]:
                findings.append(
                    Finding(name, "input", f"input {inp['path']} changed since {name} was built")
                )
        if check_code:
            findings += _code_findings(record, name, code_root, records, current_digest)
    return len(sidecars), findings


def stale(paths, *, code_root: Path | None = None) -> list[tuple[str, str, list[str]]]:
    """``(artifact, rule, [why])`` for artifacts built with library code that has changed since."""
    _, findings = verify(paths, code_root=code_root, upstream=False)
    return [(f.artifact, f.rule or "?", [f.detail]) for f in findings if f.kind == "code"]


def lineage(path: str | os.PathLike) -> dict:
    """The provenance tree of one artifact (nested dicts, JSON-ready). A node repeated in the DAG is
    expanded once; later occurrences carry ``"see_above": true``."""
    records = Records()
    expanded: set[Path] = set()

    def node(sidecar: Path) -> dict:
        record = records.record(sidecar)
        workdir = workdir_of(sidecar, record)
        out = {
            "path": record["artifact"]["path"],
            "sha256": record["artifact"]["sha256"],
            "rule": record["rule"],
            "wildcards": record["wildcards"],
        }
        if sidecar.resolve() in expanded:
            return {**out, "see_above": True}
        expanded.add(sidecar.resolve())
        execution = record.get("execution", {})
        code = record.get("code", {})
        out.update(
            {
                "params": record["params"],
                "seeds": record.get("seeds", {}),
                "code": {
                    k: code.get(k) for k in ("package_version", "commit", "dirty", "code_digest")
                },
                "device": execution.get("device"),
                "started": execution.get("started"),
                "finished": execution.get("finished"),
                "host": execution.get("host"),
                "inputs": [],
            }
        )
        for inp in record["inputs"]:
            if is_sidecar(inp["path"]):
                continue  # sidecars are inputs for Snakemake's DAG; their artifact is the node
            if inp.get("prov"):
                out["inputs"].append(node(workdir / inp["prov"]))
            else:
                out["inputs"].append({"path": inp["path"], "sha256": inp["sha256"], "rule": None})
        return out

    return node(sidecars_under(path)[0])


def render_lineage(tree: dict, indent: str = "") -> list[str]:
    """Text lines of a lineage tree: one block per artifact, inputs indented beneath it."""
    head = f"{indent}{tree['path']}  sha256 {tree['sha256'][:16]}"
    if tree.get("rule") is None:
        return [head + "  (raw input)"]
    wildcards = ", ".join(f"{k}={v}" for k, v in tree["wildcards"].items())
    head += f"  <- rule {tree['rule']}" + (f" [{wildcards}]" if wildcards else "")
    if tree.get("see_above"):
        return [head + "  (see above)"]
    code = tree["code"]
    commit = (code.get("commit") or "no git")[:10] + ("+dirty" if code.get("dirty") else "")
    lines = [
        head,
        f"{indent}    code {code.get('package_version')} {commit} digest {str(code.get('code_digest'))[:12]}; "
        f"device {tree['device']}; {tree['started']} .. {tree['finished']}",
    ]
    if tree["seeds"]:
        lines.append(f"{indent}    seeds {tree['seeds']}")
    if tree["params"]:
        lines.append(f"{indent}    params {tree['params']}")
    for child in tree["inputs"]:
        lines += render_lineage(child, indent + "  ")
    return lines
