"""End to end: the real Snakefile on configs/tiny.yaml in a temporary directory."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake_cli import SNAKEMAKE
from snakemake_cli import snakemake_command as tools_command

from conftest import REPO, code_blocks, with_examples
from manifold_xai.evaluation.alignment import SUMMARY_COLUMNS
from manifold_xai.evaluation.claims import CLAIM_COLUMNS
from manifold_xai.evaluation.curves import CURVE_COLUMNS
from manifold_xai.evaluation.reductions import SEED_COLUMNS
from manifold_xai.provenance.records import sidecar_path
from manifold_xai.store import read_json, sha256_path

pytestmark = pytest.mark.e2e


def scheduled_jobs(output: str) -> dict[str, int]:
    """``{rule: count}`` from the "Job stats" table of a (dry) run."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats:"))
    jobs = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


def snakemake(workdir, *args, configfile=REPO / "configs" / "tiny.yaml"):
    """Run the Snakefile in ``workdir`` with ``configfile`` (a path, a list of paths laid over each
    other, or None: the default experiment, config.yaml)."""
    cmd = snakemake_command(workdir, "--cores", "2", *args, configfile=configfile)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def snakemake_command(
    workdir, *args, configfile=REPO / "configs" / "tiny.yaml", launcher=SNAKEMAKE
) -> list[str]:
    """The command line of ``snakemake`` (or ``launcher``) on this repository's Snakefile in
    ``workdir`` (which gets the repository's ``examples/``)."""
    with_examples(workdir)
    files = (
        [] if configfile is None else configfile if isinstance(configfile, list) else [configfile]
    )
    return tools_command(workdir, *args, configfiles=files, launcher=launcher)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    result = snakemake(workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return workdir, result


def test_tiny_run_writes_summary_figures_stores_and_provenance(tiny_run):
    workdir, result = tiny_run
    results = workdir / "results"
    table = pd.read_csv(results / "summary" / "alignment.csv")
    assert list(table.columns) == SUMMARY_COLUMNS + SEED_COLUMNS
    assert (
        (table["n_seeds"] == 1).all()
        and (table["seed_mean"] == table["mean"]).all()
        and (table["n_undefined"] == 0).all()
    )
    claims = pd.read_csv(results / "summary" / "claims.csv")
    assert list(claims.columns) == CLAIM_COLUMNS and set(claims["verdict"]) <= {
        "holds",
        "fails",
        "inconclusive",
    }
    assert {
        "gradient above the random baseline",
        "robust model above standard",
        "training curve rises (standard)",
        "off-manifold robustness rises with alignment",
        "robust models more robust off-manifold than on",
        "robust models relatively more off-manifold robust than standard",
    } <= set(claims["claim"])
    assert "The paper's claims" in result.stdout + result.stderr
    # each job's console lines carry the job, so parallel jobs' lines can be told apart
    assert "[compute_attributions dataset=digits seed=0 regime=adversarial] INFO" in result.stderr
    assert sorted(set(table["method"])) == [
        "deeplift",
        "gradient",
        "integrated_gradients",
        "manifold_integrated_gradients",
        "projected_gradient",
        "smoothed_gradient",
        "smoothgrad",
    ]
    directed = ["adversarial_normal", "adversarial_tangent"]
    assert sorted(set(table["regime"])) == sorted(
        ["adversarial", "random_labels", "standard"] + directed
    )
    # seven methods on three regimes; the directed regimes run the gradient only (regime_methods)
    assert set(table.loc[table["regime"].isin(directed), "method"]) == {"gradient"}
    assert len(table) == 7 * 3 + 2 and (table["n"] == 40).all()
    # the projection onto the dataset's own tangent spaces lies in them (by construction)
    projected = table[table["method"] == "projected_gradient"]
    assert (projected["mean"] > 0.9999).all() and (projected["ci_low"] > 0.999).all()
    robustness = pd.read_csv(results / "summary" / "robustness.csv")
    assert set(robustness["regime"]) == {"standard", "adversarial", "random_labels", *directed}
    assert set(robustness["norm"]) == {1.0, 4.0} and (robustness["n"] == 20).all()
    assert robustness["gradient_fraction"].notna().all()  # joined with the training curves
    assert (
        (robustness["relative_off_robustness"] > 0) & (robustness["relative_off_robustness"] < 1)
    ).all()
    assert ((table["ci_low"] <= table["mean"]) & (table["mean"] <= table["ci_high"])).all()
    assert (
        "Fraction in tangent space" in result.stdout + result.stderr
    )  # the table is printed at the end
    run = results / "digits" / "seed0"
    artifacts = [
        results / "digits" / "source.zarr",
        run / "manifold" / "model.pt",
        run / "labeller" / "model.pt",
        run / "data.zarr",
        run / "tangent.zarr",
        run / "classifier" / "standard" / "model.pt",
        run / "attributions" / "standard.zarr",
        run / "alignment" / "standard.zarr",
        results / "summary" / "alignment.csv",
        results / "summary" / "alignment.zarr",
        results / "summary" / "claims.csv",
        results / "figures" / "fig3_digits.png",
        results / "figures" / "fig2_digits_seed0.png",
        results / "figures" / "fig10_digits_seed0.png",
        run / "classifier" / "random_labels" / "checkpoints",
        run / "curves" / "adversarial.zarr",
        results / "summary" / "curves.csv",
        results / "summary" / "curves.zarr",
        *(results / "figures" / f"fig{n}_digits.png" for n in (6, 7, 14, 15)),
        run / "robustness" / "adversarial.zarr",
        results / "summary" / "robustness.csv",
        results / "figures" / "robustness_digits.png",
    ]
    for artifact in artifacts:
        record = read_json(sidecar_path(artifact))
        assert record["artifact"]["sha256"] == sha256_path(artifact), artifact
        for inp in record["inputs"]:  # every recorded input digest matches the input on disk
            assert sha256_path(workdir / inp["path"]) == inp["sha256"], (artifact, inp["path"])
    tangent = read_json(sidecar_path(run / "tangent.zarr"))
    assert tangent["rule"] == "compute_tangent" and tangent["wildcards"] == {
        "dataset": "digits",
        "seed": "0",
    }
    assert tangent["params"]["tangent"]["rank_rtol"] == 0.001
    import zarr

    group = zarr.open_group(str(run / "tangent.zarr"), mode="r")
    assert group.metadata.zarr_format == 3
    assert group["basis"].shape == (40, 4, 1024) and group["basis"].chunks == (16, 4, 1024)
    assert not list(workdir.rglob(".*.tmp-*"))  # no temporaries left behind


def test_second_run_has_nothing_to_do(tiny_run):
    workdir, _ = tiny_run
    result = snakemake(workdir, "--dry-run")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


# The jobs a change of SmoothGrad's `samples` reaches on the tiny run: attributions, alignment and what
# shows them, and (smoothgrad is tracked) the training curves.
SMOOTHGRAD_SAMPLES_REACH = {
    "compute_attributions",
    "compute_alignment",
    "summarize_alignment",
    "plot_fig2",
    "plot_fig3",
    "plot_fig7",
    "plot_fig14",
    "plot_fig4",
    "plot_fig3_all",
    "plot_fig7_all",
    "evaluate_checkpoints",
    "summarize_curves",
    "plot_fig6",
    "plot_fig15",
    "summarize_robustness",  # robustness.csv carries the curves' gradient fraction
    "plot_robustness",
    # the walks read the run's attribution store (one store holds every method)
    "evaluate_counterfactuals",
    "summarize_counterfactuals",
    "plot_counterfactuals",
    "summarize_claims",
    "compare_paper",
    "plot_paper_comparison",
    "build_explorer",
    "all",
}


def test_changing_one_attribution_parameter_reruns_only_downstream_jobs(tiny_run, tmp_path):
    workdir, _ = tiny_run
    config = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    config["datasets"]["digits"]["attributions"]["smoothgrad"]["samples"] = 5
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--dry-run", configfile=changed)
    assert result.returncode == 0, result.stderr
    jobs = scheduled_jobs(result.stdout + result.stderr)
    assert set(jobs) == SMOOTHGRAD_SAMPLES_REACH and jobs["compute_attributions"] == 3


def test_bad_config_is_rejected_before_any_job_runs(tmp_path):
    config = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    config["datasets"]["digits"]["manifold"]["latnt_dim"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path / "work", configfile=bad)
    assert result.returncode != 0
    assert "unknown key 'datasets.digits.manifold.latnt_dim'" in result.stderr + result.stdout
    assert not (tmp_path / "work" / "results").exists()


def test_same_config_and_seed_give_bitwise_identical_stores(tiny_run, tmp_path):
    """Re-running the generated data, tangent spaces, the standard classifier (with its checkpoints) and its
    attributions from scratch on CPU reproduces every byte."""
    workdir, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    run = "results/digits/seed0"
    targets = [
        f"{run}/data.zarr",
        f"{run}/tangent.zarr",
        f"{run}/classifier/standard/model.pt",
        f"{run}/classifier/standard/checkpoints",
        f"{run}/attributions/standard.zarr",
    ]
    before = {t: sha256_path(copy / t) for t in targets}
    result = snakemake(copy, *targets, "--forcerun", "sample_dataset")
    assert result.returncode == 0, result.stderr[-3000:]
    assert scheduled_jobs(result.stdout + result.stderr) == {
        "sample_dataset": 1,
        "compute_tangent": 1,
        "train_classifier": 1,
        "compute_attributions": 1,
    }
    assert {t: sha256_path(copy / t) for t in targets} == before


CURVE_IMAGES = 6


def test_matrix_free_projection_in_the_pipeline_matches_the_basis_path(tiny_run, tmp_path):
    """Same run with `projection: matrix_free`: only tangent, alignment and what follows re-run, and the
    fractions equal those of the stored-basis path."""
    import shutil

    import xarray as xr

    workdir, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)
    config = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    config["datasets"]["digits"]["tangent"]["projection"] = "matrix_free"
    # the curves at the first 6 of the 20 images: each of their checkpoints re-solves the subspaces
    config["datasets"]["digits"]["evaluation"]["curves"]["n_test"] = CURVE_IMAGES
    # manifold-path IG projects each of its steps (the every-source-kind run's matrix-free dataset
    # runs it); the projected gradient stays, and the fractions of every other method are compared
    del config["datasets"]["digits"]["attributions"]["manifold_integrated_gradients"]
    # the directed regimes need stored training-image bases, which matrix-free projection refuses
    classifier = config["datasets"]["digits"]["classifier"]
    classifier["regimes"] = ["standard", "adversarial", "random_labels"]
    del classifier["regime_methods"]
    config["datasets"]["digits"]["evaluation"]["counterfactuals"]["regimes"] = ["standard"]
    changed = tmp_path / "matrix_free.yaml"
    changed.write_text(yaml.safe_dump(config))
    dry = snakemake(copy, "--dry-run", configfile=changed)
    assert set(scheduled_jobs(dry.stdout + dry.stderr)) == {
        "compute_tangent",
        "compute_alignment",
        "summarize_alignment",
        "plot_fig2",
        "plot_fig3",
        "plot_fig7",
        "plot_fig14",
        "evaluate_checkpoints",
        "summarize_curves",
        "plot_fig6",
        "plot_fig15",
        "plot_fig4",
        "plot_fig3_all",
        "plot_fig7_all",
        # the projected gradient depends on how tangent spaces are projected; robustness on the store
        "compute_attributions",
        "evaluate_robustness",
        "summarize_robustness",
        "plot_robustness",
        # the directed regimes left out above: the tables over runs and the walks change
        "summarize_models",
        "evaluate_counterfactuals",
        "summarize_counterfactuals",
        "plot_counterfactuals",
        "summarize_claims",
        "compare_paper",
        "plot_paper_comparison",
        "build_explorer",
        "all",
    }
    compared = [
        "results/digits/seed0/alignment/standard.zarr",
        "results/digits/seed0/curves/standard.zarr",
    ]
    result = snakemake(copy, *compared, configfile=changed)  # only what is compared below
    assert result.returncode == 0, result.stderr[-4000:]
    store = "results/digits/seed0/alignment/standard.zarr"
    basis = xr.open_zarr(workdir / store, consolidated=False).load()
    free = xr.open_zarr(copy / store, consolidated=False).load()
    assert "projected_gradient" in free["method_name"].values
    basis = basis.sel(method_name=free["method_name"].values)
    assert (free["rank"] == basis["rank"]).all() and free[
        "converged"
    ].all()  # the same subspace, per sample
    diff = abs(free["fraction"] - basis["fraction"]).max().item()
    assert diff < 1e-4, diff
    curves = "results/digits/seed0/curves/standard.zarr"
    basis = xr.open_zarr(workdir / curves, consolidated=False).load()
    free = xr.open_zarr(copy / curves, consolidated=False).load()
    assert free.sizes["sample"] == CURVE_IMAGES and basis.sizes["sample"] > CURVE_IMAGES
    first = basis["fraction"].isel(sample=slice(0, CURVE_IMAGES))
    diff = abs(free["fraction"] - first).max().item()
    assert diff < 1e-4, diff


def changed_config(tmp_path, change):
    config = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    change(config)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run_jobs(workdir, configfile) -> tuple[dict[str, int], list[str]]:
    """Scheduled ``{rule: count}`` and every scheduled output path of a dry run."""
    result = snakemake(workdir, "--dry-run", configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    outputs = [
        p.strip()
        for line in out.splitlines()
        if line.strip().startswith("output:")
        for p in line.split(":", 1)[1].split(",")
    ]
    return scheduled_jobs(out), outputs


def test_tiny_run_writes_training_curves_from_every_checkpoint(tiny_run):
    workdir, _ = tiny_run
    results = workdir / "results"
    curves = pd.read_csv(results / "summary" / "curves.csv")
    assert list(curves.columns) == CURVE_COLUMNS + SEED_COLUMNS
    for regime in ("standard", "adversarial", "random_labels"):
        index = read_json(
            results / "digits" / "seed0" / "classifier" / regime / "checkpoints" / "index.json"
        )
        rows = curves[curves["regime"] == regime]
        assert sorted(set(rows["method"])) == ["gradient", "smoothgrad"]
        assert sorted(set(rows["step"])) == index["steps"] and index["steps"][0] == 0
        assert len(rows) == 2 * len(index["steps"])
    assert curves[["mean", "train_error", "test_error"]].notna().all().all()
    assert ((curves["ci_low"] <= curves["mean"]) & (curves["mean"] <= curves["ci_high"])).all()


def test_the_directed_regimes_and_the_counterfactual_walks_run_end_to_end(tiny_run):
    """The tiny run trains adversarial_normal / adversarial_tangent on the training images' own bases
    (tangent_train.zarr) and walks two regimes; their rows reach alignment.csv, counterfactuals.csv,
    the claims and two figures."""
    import numpy as np

    from manifold_xai.data.dataset_store import train_rows
    from manifold_xai.evaluation.counterfactuals import COUNTERFACTUAL_COLUMNS, DIRECTIONS
    from manifold_xai.store import open_store

    workdir, _ = tiny_run
    results = workdir / "results"
    run = results / "digits" / "seed0"
    store = open_store(run / "tangent_train.zarr")
    np.testing.assert_array_equal(store["sample_index"][...], train_rows(run / "data.zarr"))
    basis = np.asarray(store["basis"][:5], dtype=np.float64)
    gram = basis @ basis.transpose(0, 2, 1)
    np.testing.assert_allclose(gram, np.eye(basis.shape[1])[None].repeat(5, 0), atol=1e-5)
    alignment = pd.read_csv(results / "summary" / "alignment.csv")
    for regime in ("adversarial_normal", "adversarial_tangent"):
        rows = alignment[alignment["regime"] == regime]
        assert list(rows["method"]) == ["gradient"]  # classifier.regime_methods
        metrics = read_json(run / "classifier" / regime / "metrics.json")
        assert metrics["regime"] == regime and metrics["steps_trained"] > 0
    walks = pd.read_csv(results / "summary" / "counterfactuals.csv")
    assert list(walks.columns) == COUNTERFACTUAL_COLUMNS
    assert sorted(set(walks["regime"])) == ["adversarial_normal", "standard"]
    assert len(walks) == 2 * len(DIRECTIONS) and (walks["n"] == 8).all()
    assert ((walks["flip_rate"] >= 0) & (walks["flip_rate"] <= 1)).all()
    assert (walks["max_steps"] == 6).all()
    claims = pd.read_csv(results / "summary" / "claims.csv")
    statements = set(claims["claim"])
    assert "normal-only adversarial training above standard" in statements
    assert (
        "normal-only training costs less clean accuracy than full adversarial training"
        in statements
    )
    assert (
        "the tangent part flips the label in fewer steps than the orthogonal part "
        "(standard, gradient)" in statements
    )
    for name in ("counterfactual_walks_digits.png", "counterfactual_distance_digits.png"):
        assert (results / "figures" / name).stat().st_size > 1000


def test_changing_the_curve_evaluation_never_retrains(tiny_run, tmp_path):
    workdir, _ = tiny_run
    config = changed_config(
        tmp_path, lambda c: c["datasets"]["digits"]["evaluation"]["curves"].update(n_test=10)
    )
    jobs, _ = dry_run_jobs(workdir, config)
    assert jobs == {
        "evaluate_checkpoints": 5,
        "summarize_curves": 1,
        "summarize_robustness": 1,  # joins the curves' gradient fraction
        "plot_robustness": 1,
        "summarize_claims": 1,
        "compare_paper": 1,
        "plot_paper_comparison": 1,
        "plot_fig6": 1,
        "plot_fig15": 1,
        "all": 1,
    }


def test_changing_one_regime_reruns_only_that_regimes_jobs(tiny_run, tmp_path):
    workdir, _ = tiny_run
    config = changed_config(
        tmp_path, lambda c: c["datasets"]["digits"]["classifier"]["random_labels"].update(lr=0.002)
    )
    jobs, outputs = dry_run_jobs(workdir, config)
    assert jobs == {
        "train_classifier": 1,
        "compute_attributions": 1,
        "compute_alignment": 1,
        "evaluate_checkpoints": 1,
        "evaluate_robustness": 1,
        "summarize_alignment": 1,
        "summarize_curves": 1,
        "summarize_robustness": 1,
        "plot_robustness": 1,
        "summarize_claims": 1,
        "compare_paper": 1,
        "plot_paper_comparison": 1,
        "plot_fig6": 1,
        "plot_fig15": 1,
        "summarize_models": 1,
        "build_explorer": 1,
        "all": 1,
    }
    per_run = [p for p in outputs if "/seed0/" in p]
    assert per_run and all("random_labels" in p for p in per_run)


def test_adding_a_seed_reruns_only_that_seeds_jobs_and_the_summaries(tiny_run, tmp_path):
    workdir, _ = tiny_run
    jobs, outputs = dry_run_jobs(
        workdir, changed_config(tmp_path, lambda c: c.update(seeds=[0, 1]))
    )
    per_seed = {
        "train_manifold": 1,
        "train_labeller": 1,
        "sample_dataset": 1,
        "compute_tangent": 1,
        "plot_fig2": 1,
        "plot_fig10": 1,
        "train_classifier": 5,
        "compute_attributions": 5,
        "compute_alignment": 5,
        "evaluate_checkpoints": 5,
        "evaluate_robustness": 5,
        "compute_train_tangent": 1,
        "evaluate_counterfactuals": 2,
    }
    summaries = {
        "summarize_alignment": 1,
        "summarize_curves": 1,
        "plot_fig3": 1,
        "plot_fig14": 1,
        "plot_fig7": 1,
        "plot_fig6": 1,
        "plot_fig15": 1,
        "plot_fig3_all": 1,
        "plot_fig7_all": 1,
        "summarize_robustness": 1,
        "plot_robustness": 1,
        "summarize_counterfactuals": 1,
        "plot_counterfactuals": 1,
        "summarize_claims": 1,
        "compare_paper": 1,
        "plot_paper_comparison": 1,
        "summarize_models": 1,
        "build_explorer": 1,
        "all": 1,
    }
    assert jobs == {**per_seed, **summaries}
    assert not [p for p in outputs if "seed0" in p]


def manifold_xai(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "manifold_xai.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_lineage_of_figure_3_reaches_every_upstream_artifact(tiny_run):
    workdir, _ = tiny_run
    result = manifold_xai("lineage", "--json", "results/figures/fig3_digits.png", cwd=workdir)
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    nodes = {}

    def walk(node):
        nodes.setdefault(node["path"], node)
        for child in node.get("inputs", []):
            walk(child)

    walk(tree)
    run = "results/digits/seed0"
    expected = {
        f"{run}/{p}"
        for p in (
            "alignment/standard.zarr",
            "attributions/standard.zarr",
            "tangent.zarr",
            "data.zarr",
            "manifold/model.pt",
            "labeller/model.pt",
            "classifier/standard/model.pt",
        )
    } | {"results/digits/source.zarr"}
    assert expected <= set(nodes)
    for path in expected:
        assert nodes[path]["sha256"] == sha256_path(workdir / path)
        assert nodes[path]["rule"]
    full = nodes[f"{run}/tangent.zarr"]
    assert {"params", "code", "seeds", "device", "started", "finished"} <= set(full)
    text = manifold_xai("lineage", "results/figures/fig3_digits.png", cwd=workdir).stdout
    assert "rule compute_tangent" in text and "(see above)" in text


def test_the_report_builds_without_docutils_errors_with_every_table_in_figure_order(
    tiny_run, tmp_path
):
    import re
    import zipfile

    workdir, _ = tiny_run
    result = snakemake(workdir, "--report", str(tmp_path / "report.zip"))
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith("report.html"))
        page = archive.read(name).decode()
    assert "System Message" not in page and "Docutils" not in page
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", page).group(1))
    # the report's menu sorts categories as text: figure numbers are padded so that text order is
    # figure order
    shown = sorted(categories, key=str.lower)
    numbers = [int(m.group(1)) for c in shown if (m := re.match(r"Figure (\d\d)\b", c))]
    assert numbers == sorted(numbers) and len(numbers) >= 6, shown
    assert not [c for c in shown if re.match(r"Figures? \d\b", c)], shown
    tables = {Path(p).name for p in categories["Summary tables"]["Other"]}
    assert {"alignment.csv", "claims.csv", "curves.csv", "robustness.csv"} <= tables, tables


def test_a_run_that_only_redraws_a_figure_prints_no_summary_table(tiny_run):
    workdir, _ = tiny_run
    result = snakemake(workdir, "--forcerun", "plot_fig3", "results/figures/fig3_digits.png")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "plot_fig3" in result.stdout + result.stderr
    assert "The paper's claims" not in result.stdout + result.stderr


def test_the_cli_says_what_it_finds_and_stops_quietly_in_a_pipe(tiny_run):
    workdir, _ = tiny_run
    version = manifold_xai("--version", cwd=workdir)
    assert version.returncode == 0 and version.stdout.startswith("manifold-xai 0."), version
    log = next(
        (workdir / "results" / "logs").rglob("*.log")
    )  # a file the pipeline has no sidecar for
    lineage = manifold_xai("lineage", str(log.relative_to(workdir)), cwd=workdir)
    assert lineage.returncode == 2 and "exists but has no provenance sidecar" in lineage.stderr
    assert len(lineage.stderr.strip().splitlines()) == 1
    # a reader that closes the pipe before anything is written (as `head` does after its lines)
    piped = subprocess.run(
        f"{sys.executable} -m manifold_xai.cli lineage --json results/figures/fig3_digits.png | true",
        shell=True,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr[-2000:]


def test_verify_passes_and_names_every_store_with_a_flipped_byte(tiny_run, tmp_path):
    import random

    workdir, _ = tiny_run
    ok = manifold_xai("verify", "results/", cwd=workdir)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    copy = tmp_path / "copy"
    shutil.copytree(workdir / "results", copy / "results", symlinks=True)
    stores = sorted(p for p in (copy / "results").rglob("*.zarr") if p.is_dir())
    assert len(stores) >= 9
    rng = random.Random(0)
    for store in stores:
        chunks = sorted(p for p in store.rglob("*") if p.is_file() and "/c/" in p.as_posix())
        chunk = rng.choice(chunks)
        data = bytearray(chunk.read_bytes())
        data[rng.randrange(len(data))] ^= 0xFF
        original = chunk.read_bytes()
        chunk.write_bytes(bytes(data))
        result = manifold_xai("verify", "--ignore-code", "results/", cwd=copy)
        name = store.relative_to(copy).as_posix()
        assert result.returncode == 1 and f"DIGEST   {name}:" in result.stdout, (
            name,
            result.stdout[-2000:],
        )
        chunk.write_bytes(original)


def test_stale_finds_the_artifacts_an_edited_library_module_touched(tiny_run, tmp_path):
    workdir, _ = tiny_run
    code = tmp_path / "code"
    shutil.copytree(REPO / "src", code / "src", ignore=shutil.ignore_patterns("__pycache__"))
    figures = code / "src" / "manifold_xai" / "figures" / "style.py"
    figures.write_text(figures.read_text() + "\n# an edit\n")
    result = manifold_xai("verify", "--code-root", str(code), "results/", cwd=workdir)
    assert result.returncode == 1
    flagged = {
        line.split()[1].rstrip(":")
        for line in result.stdout.splitlines()
        if line.startswith("CODE")
    }
    assert flagged and all(p.startswith("results/figures/") for p in flagged), flagged
    tiny = str(REPO / "configs" / "tiny.yaml")  # the run's config: its params have not drifted
    rules = manifold_xai(
        "stale", "--rules", "--code-root", str(code), "results/", "--configfile", tiny, cwd=workdir
    ).stdout.split()
    assert rules and all(r.startswith("plot_") for r in rules), rules


def test_provenance_exports_as_prov_json_and_a_workflow_run_crate(tiny_run, tmp_path):
    from prov.model import ProvDocument
    from rocrate.rocrate import ROCrate

    workdir, _ = tiny_run
    copy = tmp_path / "crate"
    shutil.copytree(workdir / "results", copy / "results", symlinks=True)
    result = manifold_xai("export-provenance", "results", cwd=copy)
    assert result.returncode == 0, result.stderr
    document = ProvDocument.deserialize(source=str(copy / "provenance.prov.json"), format="json")
    labels = {str(r.identifier) for r in document.get_records()}
    assert any("results/figures/fig3_digits.png" in label for label in labels)
    crate = ROCrate(str(copy))
    assert crate.mainEntity.id == "Snakefile"
    ids = {e.id for e in crate.get_entities()}
    assert "results/digits/seed0/tangent.zarr/" in ids and "results/summary/curves.csv" in ids
    actions = [e for e in crate.get_entities() if e.type == "CreateAction"]
    assert any(a["name"].startswith("rule compute_tangent") for a in actions)


def test_report_holds_every_figure_and_table(tiny_run, tmp_path):
    workdir, _ = tiny_run
    report = tmp_path / "report.zip"
    result = snakemake(workdir, "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    import zipfile

    names = "\n".join(zipfile.ZipFile(report).namelist())
    for name in (
        "fig3_digits.png",
        "fig7_digits.png",
        "fig15_digits.png",
        "alignment.csv",
        "curves.csv",
    ):
        assert name in names, name


def test_adding_an_attribution_method_reruns_only_attribution_alignment_and_figures(
    tiny_run, tmp_path
):
    workdir, _ = tiny_run

    config = changed_config(
        tmp_path, lambda c: c["datasets"]["digits"]["attributions"].update(input_x_gradient={})
    )
    jobs, _ = dry_run_jobs(workdir, config)
    assert set(jobs) == {
        "compute_attributions",
        "compute_alignment",
        "summarize_alignment",
        "plot_fig2",
        "plot_fig3",
        "plot_fig7",
        "plot_fig14",
        "plot_fig4",
        "plot_fig3_all",
        "plot_fig7_all",
        # the walks read the run's attribution store, which the new method joins
        "evaluate_counterfactuals",
        "summarize_counterfactuals",
        "plot_counterfactuals",
        "summarize_claims",
        "compare_paper",
        "plot_paper_comparison",
        "build_explorer",
        "all",
    }


def test_slurm_profile_dry_run(tiny_run):
    workdir, _ = tiny_run
    result = snakemake(
        workdir, "--dry-run", "--profile", str(REPO / "profiles" / "slurm"), "--forceall"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train_classifier" in result.stdout + result.stderr


# ------------------------------------------------------------------ methods, overrides, drift


def test_a_captum_method_and_an_own_function_run_end_to_end_with_their_labels(tiny_run):
    import zarr
    from PIL import Image

    workdir, _ = tiny_run
    results = workdir / "results"
    store = zarr.open_group(
        results / "digits" / "seed0" / "attributions" / "standard.zarr", mode="r"
    )
    assert {"deeplift", "smoothed_gradient"} <= set(store.attrs["methods"])
    table = pd.read_csv(results / "summary" / "alignment.csv")
    rows = table[table["method"].isin(["deeplift", "smoothed_gradient"])]
    assert len(rows) == 2 * 3 and rows["mean"].between(0, 1).all()  # three regimes
    for figure in ("fig3_digits.png", "fig4_digits_seed0.png"):
        drawn = Image.open(results / "figures" / figure).info["Description"]
        assert "DeepLIFT" in drawn and "Smoothed gradient" in drawn, drawn
        assert drawn.startswith(f"Figure {figure[3]}: digits"), drawn  # titled with its number


def test_a_one_key_file_reruns_what_it_reaches_and_stale_names_the_drift(tiny_run, tmp_path):
    workdir, _ = tiny_run
    tiny = REPO / "configs" / "tiny.yaml"
    one_key = tmp_path / "one_key.yaml"
    one_key.write_text("datasets: {digits: {attributions: {smoothgrad: {samples: 5}}}}\n")
    result = snakemake(workdir, "--dry-run", configfile=[tiny, one_key])
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = scheduled_jobs(result.stdout + result.stderr)
    assert set(jobs) == SMOOTHGRAD_SAMPLES_REACH  # exactly what the full changed copy re-runs
    # attributions of the three regimes that run smoothgrad; the curves run it on all five
    assert jobs["compute_attributions"] == 3 and jobs["evaluate_checkpoints"] == 5
    assert not {r for r in jobs if r.startswith("train_") or r == "compute_tangent"}
    # A copy of the results without Snakemake's metadata: `stale` still names the drifted params.
    copy = tmp_path / "copy"
    shutil.copytree(workdir / "results", copy / "results")
    with_examples(copy)
    stale = subprocess.run(
        [
            sys.executable,
            "-m",
            "manifold_xai.cli",
            "stale",
            "results",
            "--configfile",
            str(tiny),
            str(one_key),
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert stale.returncode == 0, stale.stderr[-3000:]
    lines = stale.stdout.splitlines()
    drifted = {line.split(" (rule ")[1].split(")")[0] for line in lines}
    assert (
        "results/digits/seed0/attributions/standard.zarr (rule compute_attributions): params differ "
        "from the current config at attributions.smoothgrad.samples" in lines
    ), stale.stdout
    assert {"compute_attributions", "evaluate_checkpoints"} <= drifted
    assert not {r for r in drifted if r.startswith("train_")}, stale.stdout
    unchanged = subprocess.run(
        [sys.executable, "-m", "manifold_xai.cli", "stale", "results", "--configfile", str(tiny)],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.startswith("stale: nothing is stale in results"), unchanged.stdout


def _outputs(workdir, *args, configfile=None) -> set[str]:
    result = snakemake(workdir, "--dry-run", *args, configfile=configfile)
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        p.strip()
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip().startswith("output:")
        for p in line.split(":", 1)[1].split(",")
    }


def test_seeds_from_the_command_line_add_exactly_that_seeds_jobs(tmp_path):
    base = _outputs(tmp_path / "a")  # the default experiment: seeds 0 to 4
    more = _outputs(tmp_path / "b", "--config", "seeds=[0,1,2,3,4,5]")
    assert base and base <= more
    added = more - base
    assert added and all("seed5" in p for p in added)
    assert {p for p in more if "seed5" in p} == added


def test_the_tangent_source_figure_is_a_target_without_a_study(tmp_path):
    def change(config):
        config["datasets"]["digits"]["tangent_sources"] = {
            "sources": ["vae", "local_pca"],
            "local_pca": {"neighbours": 8},
        }
        config["study"] = None

    jobs, outputs = dry_run_jobs(tmp_path / "work", changed_config(tmp_path, change))
    assert jobs.get("plot_tangent_sources") == 1, jobs
    assert "results/figures/tangent_sources_digits.png" in outputs


def test_the_api_gives_the_pipelines_fractions_on_its_stores(tiny_run):
    import warnings

    import numpy as np
    import xarray as xr
    import zarr

    import manifold_xai as mx
    from manifold_xai.runtime import derive_seed

    run = tiny_run[0] / "results" / "digits" / "seed0"
    space = mx.open_tangent_space(run / "tangent.zarr")
    attributions = mx.open_dataset(run / "attributions" / "standard.zarr")
    pipeline = mx.open_dataset(run / "alignment" / "standard.zarr")
    assert list(attributions["method_name"].values) == list(pipeline["method_name"].values)
    for method in pipeline["method_name"].values:
        maps = attributions["attribution"].sel(method_name=method).data  # lazy: read block by block
        np.testing.assert_allclose(
            mx.fractions(space, maps, batch_size=7),
            pipeline["fraction"].sel(method_name=method).values,
            atol=1e-6,
        )
    seed = derive_seed(0, "digits", "alignment/standard")
    np.testing.assert_allclose(
        mx.random_fractions(space, seed=seed), pipeline["random_fraction"].values, atol=1e-6
    )
    assert mx.random_baseline(space) == pytest.approx(pipeline.attrs["baseline"])
    # the methods that use the manifold: the API, given the stored tangent spaces or the decoder and the
    # latents, reproduces the pipeline's maps (which the jobs computed from the decoder themselves)
    model = mx.load_model(run / "classifier" / "standard" / "model.pt")
    data = mx.open_dataset(run / "data.zarr")
    rows = attributions["sample_index"].values
    images, latents = data["images"].values[rows], data["latents"].values[rows]
    stored = attributions["attribution"]
    np.testing.assert_allclose(
        mx.explain(model, images, {"project": "gradient"}, tangent=space),
        stored.sel(method_name="projected_gradient").values,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        mx.explain(
            model,
            images,
            "manifold_integrated_gradients",
            decoder=mx.load_model(run / "manifold" / "model.pt"),
            latents=latents,
            steps=8,
        ),
        stored.sel(method_name="manifold_integrated_gradients").values,
        atol=1e-5,
    )
    # the tangent store lines up with the attributions element for element
    tangent = mx.open_dataset(run / "tangent.zarr")
    assert tangent["basis"].dims == ("sample", "direction", "channel", "y", "x")
    assert tangent["basis"].shape[2:] == attributions["attribution"].shape[2:]
    # every store opens in xarray without a warning, with a coordinate on every dimension
    stores = sorted((tiny_run[0] / "results").rglob("*.zarr"))
    assert len(stores) >= 10
    for store in stores:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = xr.open_zarr(store)
        assert set(ds.dims) <= set(ds.coords), store
        # strings as Zarr's variable-length UTF-8, not NumPy's fixed-length UTF-32 (no v3 spec)
        fixed = [n for n, a in zarr.open_group(store, mode="r").arrays() if a.dtype.kind in "US"]
        assert not fixed, (store, fixed)


def test_the_readme_api_example_runs_on_a_finished_run(tiny_run):
    (code,) = code_blocks(REPO / "README.md", "python", "Python API")
    assert len(code.strip().splitlines()) <= 15
    assert '"results/mnist32/seed0"' in code  # the default run's; the tiny run's dataset is digits
    code = code.replace('"results/mnist32/seed0"', '"results/digits/seed0"')
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tiny_run[0], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("in tangent space: 0.")


def test_the_explorer_of_the_tiny_run_agrees_with_alignment_csv(tiny_run):
    """Per (seed, regime, method), the mean of the explorer's fractions (undefined left out, as the page
    does) and the number of defined ones are alignment.csv's `mean` and `n - n_undefined`."""
    workdir, _ = tiny_run
    explorer = workdir / "results" / "explorer"
    assert (explorer / "index.html").is_file() and (explorer / "index.html.prov.json").is_file()
    text = (explorer / "data" / "index.js").read_text()
    index = json.loads(text[len("window.EXPLORER = ") : -2])
    table = pd.read_csv(workdir / "results" / "summary" / "alignment.csv")
    checked = 0
    for run in index["runs"]:
        for regime in run["regimes"]:
            (source,) = regime["sources"]  # the tiny run has its own tangent source only
            for method, values in source["fraction"].items():
                row = table[
                    (table.dataset == run["dataset"])
                    & (table.seed == run["seed"])
                    & (table.regime == regime["name"])
                    & (table.method == method)
                ].iloc[0]
                defined = [v for v in values if v is not None]
                assert len(defined) == row.n - row.n_undefined
                assert sum(defined) / len(defined) == pytest.approx(row["mean"], rel=1e-5)
                checked += 1
    assert checked == len(table)
