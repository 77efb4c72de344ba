"""Artifact I/O and provenance: atomic writes, content digests, sidecars."""

import numpy as np
import pytest
from rule_harness import FakeSnakemake, Named

from conftest import REPO
from manifold_xai.jobs import run_job
from manifold_xai.provenance import records as provenance
from manifold_xai.store import atomic_path, create_store, read_json, sha256_path, write_array


def test_atomic_path_leaves_nothing_on_failure_and_keeps_the_old_artifact(tmp_path):
    target = tmp_path / "a.zarr"
    with atomic_path(target) as tmp:
        write_array(create_store(tmp), "x", np.arange(3), ("i",))
    before = sha256_path(target)
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        write_array(create_store(tmp), "x", np.arange(5), ("i",))
        raise RuntimeError("boom")
    assert sha256_path(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zarr"]


def test_directory_digest_is_content_addressed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "c0").write_bytes(b"\x00\x01\x02")
        (root / "zarr.json").write_text("{}")
    assert sha256_path(a) == sha256_path(b)  # location-independent
    (b / "sub" / "c0").write_bytes(b"\x00\x01\x03")  # flip one byte in one chunk
    assert sha256_path(a) != sha256_path(b)


def test_run_job_writes_a_sidecar_per_output_with_inputs_linked(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("raw")
    out = tmp_path / "out.txt"
    smk = FakeSnakemake(
        rule="demo",
        input=Named(src=str(src)),
        output=Named(out=str(out), out_prov=f"{out}.prov.json"),
        params=Named(alpha={"x": 1}),
        wildcards=Named(dataset="digits", seed="3"),
        threads=1,
        log=[str(tmp_path / "demo.log")],
        scriptdir=str(REPO / "scripts"),
    )

    def main(job):
        job.seed("stage")
        out.write_text("result")
        job.metrics = {"value": 1.5}

    run_job(smk, main)
    record = read_json(f"{out}.prov.json")
    assert record["artifact"]["sha256"] == sha256_path(out)
    assert record["rule"] == "demo" and record["wildcards"] == {"dataset": "digits", "seed": "3"}
    assert record["params"] == {"alpha": {"x": 1}}
    assert record["inputs"] == [{"path": src.as_posix(), "sha256": sha256_path(src), "prov": None}]
    assert set(record["seeds"]) == {"stage"} and record["metrics"] == {"value": 1.5}
    assert len(record["code"]["code_digest"]) == 64
    for key in ("torch", "numpy", "zarr", "xarray", "dask", "snakemake"):
        assert record["software"][key]
    assert record["execution"]["device"] == "cpu" and record["execution"]["started"]
    assert (tmp_path / "demo.log").read_text().count("rule demo") >= 1


def test_run_job_requires_a_sidecar_for_every_output(tmp_path, capsys):
    smk = FakeSnakemake(
        rule="demo",
        input=Named(),
        output=Named(out=str(tmp_path / "o")),
        params=Named(),
        wildcards=Named(),
        threads=1,
        log=[],
        scriptdir=str(REPO / "scripts"),
    )
    with pytest.raises(SystemExit) as exit_:
        run_job(smk, lambda job: (tmp_path / "o").write_text("x"))
    assert exit_.value.code == 1
    assert (
        "RuntimeError: rule demo: outputs without a declared .prov.json sidecar"
        in capsys.readouterr().err
    )


def test_code_digest_changes_when_library_code_changes(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    before = provenance.code_digest(tmp_path)
    (tmp_path / "src" / "m.py").write_text("x = 2\n")
    assert provenance.code_digest(tmp_path) != before
