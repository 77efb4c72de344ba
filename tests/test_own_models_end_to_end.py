"""End to end: examples/own_models.py trains a classifier and an autoencoder outside the pipeline and
runs the real Snakefile on them (the README's config for an external model)."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from conftest import REPO, code_blocks

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("own")
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "own_models.py"), str(workdir)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-4000:]
    return workdir, result


def test_the_readme_shows_the_examples_config(own_run):
    workdir, _ = own_run
    (block,) = code_blocks(REPO / "README.md", "yaml", "Your own classifier and decoder")
    assert yaml.safe_load(block) == yaml.safe_load((workdir / "own_models.yaml").read_text())


def test_own_models_are_evaluated_not_trained(own_run):
    workdir, result = own_run
    results = workdir / "results"
    table = pd.read_csv(results / "summary" / "alignment.csv")
    assert set(table["regime"]) == {"external"}
    assert sorted(table["method"]) == ["gradient", "integrated_gradients", "smoothgrad"]
    assert (table["n"] == 60).all() and (table["mean"] > table["baseline"]).all()
    for figure in ("fig2_digits_seed0", "fig3_digits", "fig4_digits_seed0", "fig14_digits"):
        assert (results / "figures" / f"{figure}.png").is_file(), figure
    assert not (results / "summary" / "curves.csv").exists()
    # the walks only query the classifier, so the given one is walked
    walks = pd.read_csv(results / "summary" / "counterfactuals.csv")
    assert set(walks["regime"]) == {"external"} and (walks["n"] == 10).all()
    assert set(walks["direction"]) == {"tangent", "orthogonal", "whole", "random_tangent"}
    assert not list(results.glob("digits/seed0/classifier/standard"))
    assert "train_classifier" not in result.stdout and "train_manifold" not in result.stdout
    metrics = json.loads((results / "digits/seed0/classifier/external/metrics.json").read_text())
    assert metrics["trained"] is False and "regimes" in metrics["note"]
    assert set(metrics["files"]) == {"models/classifier.pt", "examples/own_models.py"}
    assert metrics["test_accuracy"] > 0.5


def test_the_run_model_file_reproduces_the_stored_attributions(own_run):
    workdir, _ = own_run
    code = (
        "import numpy as np, manifold_xai as mx\n"
        "run = 'results/digits/seed0'\n"
        "model = mx.load_model(f'{run}/classifier/external/model.pt')\n"
        "stored = mx.open_dataset(f'{run}/attributions/external.zarr')\n"
        "rows = stored['sample_index'].values\n"
        "images = mx.open_dataset(f'{run}/data.zarr')['images'].values[rows]\n"
        "maps = mx.explain(model, images, 'gradient')\n"
        "assert np.allclose(maps, stored['attribution'].sel(method_name='gradient').values, atol=1e-6)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_verify_names_an_external_file_that_changed(own_run):
    workdir, _ = own_run

    def verify():
        return subprocess.run(
            [sys.executable, "-m", "manifold_xai.cli", "verify", "results/"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    ok = verify()
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    weights = workdir / "models" / "classifier.pt"
    original = weights.read_bytes()
    state = torch.load(weights, weights_only=True)
    torch.save({k: v + 0.01 for k, v in state.items()}, weights)
    try:
        changed = verify()
    finally:
        weights.write_bytes(original)
    assert changed.returncode == 1
    assert "input models/classifier.pt changed since" in changed.stdout, changed.stdout[-2000:]
