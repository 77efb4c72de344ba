"""The SLURM profile: what each job of the paper's configuration asks the cluster for (dry run), and
the tiny pipeline through a real single-node SLURM cluster (tests/slurm_cluster.py), with a job
cancelled and the node taken down while they run."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from test_workflow import changed_config, scheduled_jobs, snakemake

from conftest import REPO, with_examples
from manifold_xai.store import sha256_path


def _requests(workdir, *args) -> dict[str, dict[str, str]]:
    """Every job of a dry run of configs/paper.yaml, by its log file: its resources as printed."""
    result = snakemake(workdir, "-n", *args, configfile=REPO / "configs" / "paper.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=\S*\s*rule \w+:)", result.stdout):
        log = re.search(r"^\s+log: (\S+)", block, re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        threads = re.search(r"^\s+threads: (\d+)", block, re.M)
        if log and resources:
            jobs[log.group(1)] = {
                **dict(
                    item.split("=", 1) for item in resources.group(1).split(", ") if "=" in item
                ),
                "threads": threads.group(1) if threads else "1",
            }
    return jobs


def test_the_slurm_profile_never_overrides_what_a_rule_or_dataset_asks_for(tmp_path):
    plain = _requests(tmp_path / "plain")
    profiled = _requests(tmp_path / "slurm", "--profile", str(REPO / "profiles" / "slurm"))
    assert plain.keys() == profiled.keys() and len(plain) > 500
    differ = {
        log: (plain[log].get(key), profiled[log].get(key))
        for log in plain
        for key in ("mem_mb", "runtime", "gpu", "threads")
        if key in plain[log] and plain[log][key] != profiled[log].get(key)
    }
    assert not differ, sorted(differ.items())[:5]
    # the cases that broke: paper-scale jobs asked for the profile's 16 GB / 12 h instead of their own
    mnist256 = profiled["results/logs/train_classifier/mnist256_seed0_standard.log"]
    assert (mnist256["mem_mb"], mnist256["runtime"]) == ("64000", "5760")
    retinopathy = profiled["results/logs/compute_tangent/retinopathy_seed0.log"]
    assert (retinopathy["mem_mb"], retinopathy["runtime"]) == ("48000", "1440")
    # the profile adds where to run: GPU jobs on the GPU partition, the rest on the CPU partition
    assert mnist256["slurm_partition"] == "gpu" and mnist256["gpu"] == "1"
    summary = profiled["results/logs/summarize_alignment.log"]
    assert summary["slurm_partition"] == "cpu" and "gpu" not in summary


# ------------------------------------------------------------------ a real single-node SLURM cluster

# A site without an accounting database differs from one with it in one setting: the account cannot be
# checked (sacctmgr has no database), so the run says --slurm-no-account (docs/cluster.md).
NO_ACCOUNTING = ("--slurm-no-account",)
# Only to keep the test short: the first status check after 1 s instead of the plugin's 40 s.
QUICK = ("--slurm-init-seconds-before-status-checks", "1")
ARTIFACTS = (
    "results/digits/seed0/data.zarr",
    "results/digits/seed0/tangent.zarr",
    "results/digits/seed0/classifier/standard/model.pt",
    "results/digits/seed0/classifier/standard/checkpoints",
    "results/digits/seed0/attributions/standard.zarr",
    "results/digits/seed0/alignment/standard.zarr",
    "results/summary/alignment.csv",
)
TARGET = "results/summary/alignment.csv"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import os

    import slurm_cluster

    why = slurm_cluster.missing()
    if why:
        if os.environ.get("MANIFOLD_XAI_REQUIRE_SLURM"):
            pytest.fail(why)
        pytest.skip(why)
    running = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    yield running
    slurm_cluster.stop(running)


def _cluster_config(tmp_path):
    """The tiny pipeline, one regime, on CPU nodes (``device: cpu``: no GPU is requested)."""

    def change(config):
        digits = config["datasets"]["digits"]
        digits["classifier"]["regimes"] = ["standard"]
        digits["attributions"] = {"gradient": {}, "smoothgrad": {"samples": 4}}
        config["device"] = "cpu"

    return changed_config(tmp_path, change)


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    config = _cluster_config(root)
    result = snakemake(root / "work", TARGET, configfile=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "work", config


def _slurm(cluster, workdir, config, *args, background=False):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *NO_ACCOUNTING,
        *QUICK,
        *args,
        TARGET,
    ]
    with_examples(workdir)
    if background:
        log = open(workdir.parent / f"{workdir.name}.snakemake.log", "w")  # noqa: SIM115
        return subprocess.Popen(cmd, env=cluster.env, stdout=log, stderr=subprocess.STDOUT)
    return subprocess.run(cmd, env=cluster.env, capture_output=True, text=True, timeout=900)


def _identical(workdir, reference) -> None:
    for artifact in ARTIFACTS:
        assert sha256_path(workdir / artifact) == sha256_path(reference / artifact), artifact


def test_the_tiny_pipeline_runs_through_the_slurm_profile(cluster, local_reference, tmp_path):
    reference, config = local_reference
    before = {job["id"] for job in cluster.jobs()}
    result = _slurm(cluster, tmp_path / "work", config)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    submitted = [job for job in cluster.jobs() if job["id"] not in before]
    jobs = scheduled_jobs(result.stdout + result.stderr)
    # every job but the target-collecting `all` rule (none here) ran as its own sbatch job
    assert len(submitted) == sum(jobs.values()), (submitted, jobs)
    assert {job["state"] for job in submitted} == {"COMPLETED"}
    partition = {job["comment"].split("_wildcards_")[0]: job["partition"] for job in submitted}
    assert partition["rule_train_classifier"] == "gpu"  # the profile's set-resources
    assert partition["rule_summarize_alignment"] == "cpu"  # its default partition
    _identical(tmp_path / "work", reference)


def test_a_cancelled_job_and_a_downed_node_end_in_an_identical_result(
    cluster, local_reference, tmp_path
):
    """``scancel`` on a running training job, then the node set DOWN and back while the next job runs:
    Snakemake's retries (the profile's ``retries: 2``) finish the run; where they are spent, a re-run
    with ``--rerun-incomplete`` does. Either way every artifact equals the local run's."""
    reference, config = local_reference
    workdir = tmp_path / "work"
    run = _slurm(cluster, workdir, config, background=True)
    try:
        victim = cluster.wait_for("train_classifier")
        cluster.run("scancel", victim["id"])
        running = cluster.wait_for("compute_attributions")
        cluster.set_node("DOWN")
        time.sleep(2)
        cluster.resume_node()
        status = run.wait(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
    states = {job["id"]: job["state"] for job in cluster.jobs()}
    assert states[victim["id"]] == "CANCELLED"
    assert states[running["id"]] in ("NODE_FAIL", "FAILED", "CANCELLED", "COMPLETED"), states
    log = (tmp_path / "work.snakemake.log").read_text()
    if status != 0:  # retries spent: the documented recovery
        rerun = _slurm(cluster, workdir, config, "--rerun-incomplete")
        assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-4000:]
    else:
        assert "Trying to restart job" in log or "retr" in log.lower(), log[-3000:]
    _identical(workdir, reference)
