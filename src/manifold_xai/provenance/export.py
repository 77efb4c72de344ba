"""Export the provenance of a results folder as W3C PROV-JSON and as a Workflow Run RO-Crate.

Both are built from the ``.prov.json`` sidecars: every artifact is an entity (a ``File`` or, for Zarr
stores and checkpoint folders, a ``Dataset``) with its sha256; every job is an activity
(``CreateAction``) that used its inputs and generated its outputs; the workflow (``Snakefile``) is the
instrument, the code version is the agent.

- PROV-JSON: https://www.w3.org/submissions/prov-json/ (``provenance.prov.json``).
- RO-Crate 1.1 with the Workflow Run Crate profile 0.5 (``ro-crate-metadata.json``), crate root = the
  folder the sidecar paths are relative to (the Snakemake working directory).
"""

from __future__ import annotations

import os
from pathlib import Path

from manifold_xai.provenance.audit import Records, sidecars_under, workdir_of
from manifold_xai.provenance.records import is_sidecar
from manifold_xai.store import write_json

WFRUN = "https://w3id.org/ro/wfrun/workflow/0.5"
PROCESS_RUN = "https://w3id.org/ro/wfrun/process/0.5"
RO_CRATE = "https://w3id.org/ro/crate/1.1"


def _jobs(results: str | os.PathLike) -> tuple[Path, list[dict]]:
    """The working directory and one job per (rule, wildcards, start time), with its outputs."""
    records = Records()
    jobs: dict[tuple, dict] = {}
    workdir = None
    for sidecar in sidecars_under(results):
        record = records.record(sidecar)
        workdir = workdir or workdir_of(sidecar, record)
        execution = record.get("execution", {})
        key = (record["rule"], tuple(sorted(record["wildcards"].items())), execution.get("started"))
        job = jobs.setdefault(
            key,
            {
                "rule": record["rule"],
                "wildcards": record["wildcards"],
                "params": record["params"],
                "execution": execution,
                "code": record.get("code", {}),
                "inputs": {},
                "outputs": [],
            },
        )
        job["outputs"].append(record["artifact"])
        for inp in record["inputs"]:
            if not is_sidecar(inp["path"]):
                job["inputs"][inp["path"]] = inp["sha256"]
    if workdir is None:
        raise ValueError(f"{results}: no provenance sidecars found")
    ordered = sorted(jobs.values(), key=lambda j: (j["execution"].get("started") or "", j["rule"]))
    for n, job in enumerate(ordered):
        wildcards = "-".join(f"{k}{v}" for k, v in sorted(job["wildcards"].items()))
        job["id"] = f"job-{n:04d}-{job['rule']}" + (f"-{wildcards}" if wildcards else "")
    return workdir, ordered


def prov_json(results: str | os.PathLike) -> dict:
    """A W3C PROV-JSON document for every artifact under ``results``."""
    _, jobs = _jobs(results)
    doc = {
        "prefix": {"mxai": "urn:manifold-xai:", "sha256": "urn:sha256:"},
        "entity": {},
        "activity": {},
        "agent": {},
        "wasGeneratedBy": {},
        "used": {},
        "wasAssociatedWith": {},
        "wasDerivedFrom": {},
    }
    relation = 0

    def rel(kind: str, body: dict) -> None:
        nonlocal relation
        relation += 1
        doc[kind][f"_:r{relation}"] = body

    for job in jobs:
        code = job["code"]
        agent = f"mxai:code-{(code.get('code_digest') or 'unknown')[:16]}"
        doc["agent"][agent] = {
            "prov:type": "prov:SoftwareAgent",
            "prov:label": f"manifold-xai {code.get('package_version')}",
            "mxai:commit": code.get("commit"),
            "mxai:code_digest": code.get("code_digest"),
        }
        activity = f"mxai:{job['id']}"
        execution = job["execution"]
        doc["activity"][activity] = {
            "prov:startTime": execution.get("started"),
            "prov:endTime": execution.get("finished"),
            "prov:label": job["rule"],
            "mxai:wildcards": str(job["wildcards"]),
            "mxai:device": execution.get("device"),
            "mxai:host": execution.get("host"),
        }
        rel("wasAssociatedWith", {"prov:activity": activity, "prov:agent": agent})
        for path, digest in job["inputs"].items():
            doc["entity"].setdefault(f"mxai:{path}", {"prov:label": path, "mxai:sha256": digest})
            rel("used", {"prov:activity": activity, "prov:entity": f"mxai:{path}"})
        for out in job["outputs"]:
            entity = f"mxai:{out['path']}"
            doc["entity"][entity] = {
                "prov:label": out["path"],
                "mxai:sha256": out["sha256"],
                "prov:type": "mxai:" + out.get("kind", "file"),
            }
            rel("wasGeneratedBy", {"prov:entity": entity, "prov:activity": activity})
            for path in job["inputs"]:
                rel(
                    "wasDerivedFrom",
                    {
                        "prov:generatedEntity": entity,
                        "prov:usedEntity": f"mxai:{path}",
                        "prov:activity": activity,
                    },
                )
    return doc


def ro_crate(results: str | os.PathLike, name: str = "manifold-xai results") -> tuple[Path, dict]:
    """``(crate root, ro-crate-metadata.json content)`` for the artifacts under ``results``."""
    workdir, jobs = _jobs(results)
    files: dict[str, dict] = {}

    def entity_id(path: str, kind: str) -> str:
        return path.rstrip("/") + "/" if kind == "directory" else path

    def add(path: str, digest: str, kind: str | None = None, size: int | None = None) -> str:
        kind = kind or ("directory" if (workdir / path).is_dir() else "file")
        eid = entity_id(path, kind)
        entry = files.setdefault(
            eid,
            {"@id": eid, "@type": "Dataset" if kind == "directory" else "File", "sha256": digest},
        )
        if size is not None:
            entry["contentSize"] = size
        return eid

    actions = []
    for job in jobs:
        outputs = [
            add(o["path"], o["sha256"], o.get("kind"), o.get("size_bytes")) for o in job["outputs"]
        ]
        inputs = [add(p, d) for p, d in job["inputs"].items()]
        execution = job["execution"]
        actions.append(
            {
                "@id": f"#{job['id']}",
                "@type": "CreateAction",
                "name": f"rule {job['rule']} {job['wildcards']}",
                "instrument": {"@id": "Snakefile"},
                "object": [{"@id": i} for i in inputs],
                "result": [{"@id": o} for o in outputs],
                "startTime": execution.get("started"),
                "endTime": execution.get("finished"),
                "agent": {"@id": "#manifold-xai"},
            }
        )
    code = jobs[-1]["code"]
    graph = [
        {
            "@id": "ro-crate-metadata.json",
            "@type": "CreativeWork",
            "conformsTo": {"@id": RO_CRATE},
            "about": {"@id": "./"},
        },
        {
            "@id": "./",
            "@type": "Dataset",
            "name": name,
            "datePublished": jobs[-1]["execution"].get("finished"),
            "license": {"@id": "https://spdx.org/licenses/MIT"},
            "conformsTo": [{"@id": PROCESS_RUN}, {"@id": WFRUN}],
            "mainEntity": {"@id": "Snakefile"},
            "hasPart": [{"@id": "Snakefile"}, *({"@id": f} for f in sorted(files))],
            "mentions": [{"@id": a["@id"]} for a in actions],
        },
        {
            "@id": "Snakefile",
            "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow"],
            "name": "manifold-xai workflow",
            "programmingLanguage": {"@id": "#snakemake"},
            "version": code.get("commit"),
        },
        {
            "@id": "#snakemake",
            "@type": "ComputerLanguage",
            "name": "Snakemake",
            "url": {"@id": "https://snakemake.readthedocs.io"},
        },
        {
            "@id": "#manifold-xai",
            "@type": "SoftwareApplication",
            "name": "manifold-xai",
            "softwareVersion": code.get("package_version"),
        },
        {
            "@id": PROCESS_RUN,
            "@type": "CreativeWork",
            "name": "Process Run Crate",
            "version": "0.5",
        },
        {"@id": WFRUN, "@type": "CreativeWork", "name": "Workflow Run Crate", "version": "0.5"},
        *(files[f] for f in sorted(files)),
        *actions,
    ]
    return workdir, {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph}


def export(results: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Write ``provenance.prov.json`` and ``ro-crate-metadata.json``. The crate metadata goes to the
    crate root (the working directory) unless ``out`` is given; the PROV document beside it."""
    workdir, crate = ro_crate(results)
    target = Path(out) if out else workdir
    paths = [target / "ro-crate-metadata.json", target / "provenance.prov.json"]
    write_json(paths[0], crate)
    write_json(paths[1], prov_json(results))
    return paths
