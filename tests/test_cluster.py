"""The SLURM profile: what each job of the paper's configuration asks the cluster for (dry run), and
the tiny pipeline through a real single-node SLURM cluster (tools/slurm_cluster.py), with a job
cancelled and the node taken down while they run."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from snakemake_cli import SLURM_SNAKEMAKE
from test_workflow import changed_config, snakemake, snakemake_command

from conftest import REPO
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
RUN = "results/torus/seed0"
ARTIFACTS = (
    f"{RUN}/data.zarr",
    f"{RUN}/tangent.zarr",
    f"{RUN}/classifier/standard/model.pt",
    f"{RUN}/attributions/standard.zarr",
    f"{RUN}/alignment/standard.zarr",
)
TARGET = f"{RUN}/alignment/standard.zarr"


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
    """The tiny pipeline on the rendered torus (the fewest job levels: render, tangent spaces and a
    classifier, attributions, alignment), on CPU nodes (``device: cpu``: no GPU is requested)."""

    def change(config):
        config["datasets"] = {
            "torus": {
                "source": {"kind": "torus", "n_train": 80, "n_test": 10},
                "approach": "analytic",
                "classifier": {
                    "arch": "lenet",
                    "epochs": 2,
                    "batch_size": 16,
                    "regimes": ["standard"],
                    "checkpoints": [],
                },
                "attributions": {"gradient": {}, "smoothgrad": {"samples": 4}},
                "evaluation": {"robustness": {"n_test": 10}},  # the torus holds 10 test images
            }
        }
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
    # snakemake with the executor's waits between status checks capped (tools/slurm_snakemake.py)
    cmd = snakemake_command(
        workdir,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        *NO_ACCOUNTING,
        *QUICK,
        *args,
        TARGET,
        configfile=config,
        launcher=SLURM_SNAKEMAKE,
    )
    if background:
        log = open(workdir.parent / f"{workdir.name}.snakemake.log", "w")  # noqa: SIM115
        return subprocess.Popen(cmd, env=cluster.env, stdout=log, stderr=subprocess.STDOUT)
    return subprocess.run(cmd, env=cluster.env, capture_output=True, text=True, timeout=900)


def test_the_pipeline_runs_through_the_slurm_profile_and_survives_a_cancel_and_a_down_node(
    cluster, local_reference, tmp_path
):
    """The tiny pipeline through ``profiles/slurm`` unchanged (but ``--slurm-no-account``): every job an
    sbatch job. While it runs, ``scancel`` on the running training job, then the node set DOWN and back
    while the attribution job runs: Snakemake's retries (the profile's ``retries: 2``) finish the run;
    where they are spent, a re-run with ``--rerun-incomplete`` does. Either way every artifact equals
    the local run's, byte for byte."""
    reference, config = local_reference
    workdir = tmp_path / "work"
    before = {job["id"] for job in cluster.jobs()}
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
    log = (tmp_path / "work.snakemake.log").read_text()
    if status != 0:  # retries spent: the documented recovery
        rerun = _slurm(cluster, workdir, config, "--rerun-incomplete")
        assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-4000:]
        log += rerun.stdout + rerun.stderr
    submitted = [job for job in cluster.jobs() if job["id"] not in before]
    states = {job["id"]: job["state"] for job in submitted}
    assert states[victim["id"]] == "CANCELLED"
    assert states[running["id"]] != "RUNNING", states
    assert "Trying to restart job" in log, log[-3000:]
    # every job of the run was an sbatch job, on the partition the profile gives its rule
    rules = {job["comment"].split("_wildcards_")[0].removeprefix("rule_") for job in submitted}
    assert rules == {
        "prepare_source",
        "render_dataset",
        "render_manifold",
        "compute_tangent",
        "train_classifier",
        "compute_attributions",
        "compute_alignment",
    }, submitted
    partition = {job["comment"].split("_wildcards_")[0]: job["partition"] for job in submitted}
    assert partition["rule_train_classifier"] == "gpu"  # the profile's set-resources
    assert partition["rule_render_dataset"] == "cpu"  # its default partition
    for artifact in ARTIFACTS:
        assert sha256_path(workdir / artifact) == sha256_path(reference / artifact), artifact
