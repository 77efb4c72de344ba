"""End to end on every source kind: the real Snakefile on tiny fake datasets written in the exact
on-disk formats (MNIST and EMNIST IDX files, CIFAR-10 pickles, image folders with class folders or a
labels CSV; the CSV layout is covered by the loader tests), covering the generative, reconstructive and upsampled approaches and the lenet, vgg16 and
resnet18 classifiers; plus a dry run of configs/paper.yaml."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from fake_data import write_cifar10, write_emnist, write_image_folder, write_mnist
from test_workflow import scheduled_jobs, snakemake

from conftest import REPO
from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.models.upsampled import upsample

pytestmark = pytest.mark.e2e

CLASSIFIER = {
    "arch": "lenet",
    "epochs": 1,
    "lr": 0.001,
    "batch_size": 32,
    "checkpoints": [],
    "regimes": ["standard"],
}
COMMON = {
    "classifier": CLASSIFIER,
    "attributions": {
        "gradient": {},
        "smoothgrad": {"samples": 2},
        "projected_gradient": {"project": "gradient"},  # on every kind of manifold, matrix-free too
        "manifold_integrated_gradients": {"steps": 4},
    },
    "evaluation": {
        "curves": {"n_test": 6, "n_train_error": 20, "methods": ["gradient"]},
        "robustness": {"n_test": 6},  # the smallest test split holds 8
    },
}
AUTOENCODER = {
    "model": "autoencoder",
    "latent_channels": 4,
    "stride": 8,
    "n_res_block": 1,
    "n_res_channel": 4,
    "epochs": 1,
    "batch_size": 16,
}
# dataset name -> (source kind, approach, expected test samples, image shape)
EXPECTED = {
    "mnist_gen": ("mnist", "generative", 12, (1, 32, 32)),
    "mnist_up": ("mnist (upsampled)", "upsampled", 12, (1, 64, 64)),
    "emnist_rec": ("emnist", "reconstructive", 15, (1, 32, 32)),
    "cifar_rec": ("cifar10", "reconstructive", 10, (3, 32, 32)),
    "xray": ("image_folder (class folders)", "reconstructive", 8, (3, 32, 40)),
    "torus": ("torus", "analytic", 10, (1, 32, 32)),
}


def tiny_config(data):
    return {
        "standalone": True,
        "seeds": [0],
        "bootstrap_resamples": 100,
        "figures": {"dpi": 50, "fig2_columns": 2, "fig10_samples": 4, "fig4_examples": 2},
        "datasets": {
            "mnist_gen": {
                "source": {"kind": "mnist", "root": str(data / "mnist"), "image_size": 32},
                "manifold": {"latent_dim": 3, "epochs": 1, "reg_anneal_steps": 10},
                "labeller": {"arch": "lenet", "epochs": 1},
                "sampling": {"n_train": 60, "n_test": 12, "batch_size": 64, "rejection_power": 0.5},
                **COMMON,
            },
            "mnist_up": {
                "approach": "upsampled",
                "upsample": {"base": "mnist_gen", "image_size": 64},
                **COMMON,
            },
            "emnist_rec": {
                "source": {
                    "kind": "emnist",
                    "root": str(data / "emnist"),
                    "image_size": 32,
                    "classes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                },
                "approach": "reconstructive",
                "manifold": AUTOENCODER,
                **COMMON,
            },
            "cifar_rec": {
                "source": {
                    "kind": "cifar10",
                    "root": str(data / "cifar"),
                    "verify_checksums": False,
                },
                "approach": "reconstructive",
                "manifold": AUTOENCODER,
                **COMMON,
                "classifier": {**CLASSIFIER, "arch": "vgg16", "width": 0.0625},
            },
            "xray": {
                "source": {
                    "kind": "image_folder",
                    "root": str(data / "xray"),
                    "image_size": [32, 40],
                    "label_map": {"NORMAL": 0, "PNEUMONIA": 1},
                },
                # 8 latent channels: with 4, the decoder's 2-channel layers can switch every ReLU off
                "approach": "reconstructive",
                "manifold": {**AUTOENCODER, "latent_channels": 8},
                "tangent": {"projection": "matrix_free"},
                **COMMON,
                "classifier": {**CLASSIFIER, "arch": "resnet18", "lr_schedule": "cosine"},
            },
            "torus": {
                "source": {"kind": "torus", "n_train": 80, "n_test": 10},
                "approach": "analytic",
                "manifold": {"latent_dim": 2, "epochs": 1, "reg_anneal_steps": 10},
                "tangent_sources": {
                    "sources": ["exact", "vae", "local_pca", "denoiser", "denoiser_mle"],
                    "local_pca": {"neighbours": 6},
                    "denoiser": {"width": 4, "epochs": 2, "max_k": 4, "oversample": 2},
                },
                "roar": {
                    "methods": ["tangent", "projected_gradient", "blurred_gradient", "random"],
                    "fractions": [0.5],
                    "n_train": 40,
                    "n_test": 10,
                    "epochs": 1,
                    "repeats": 2,
                    "road": {"fractions": [0.5], "orders": ["morf", "lerf"]},
                },
                "sanity": {"n_test": 4},
                **COMMON,
            },
        },
        "theorem1": {"d": 4, "n_train": 100, "n_test": 100, "width": 16, "epochs": 200},
        "study": {
            "tasks": [
                {
                    "name": "MNIST 1",
                    "protocol": "tangent_vs_orthogonal",
                    "dataset": "torus",
                    "quantile": 0.5,
                    "per_class": 1,
                },
                {
                    "name": "CIFAR 1",
                    "protocol": "fixed_pair",
                    "dataset": "torus",
                    "n_images": 3,
                    "method_b": "smoothgrad",
                },
            ]
        },
    }


TARGETS = [
    "results/summary/alignment.csv",
    "results/figures/fig3.png",
    "results/figures/fig4_xray_seed0.png",
    "results/figures/fig11_mnist_up_seed0.png",
    "results/summary/tangent_accuracy.csv",
    "results/figures/tangent_sources_torus.png",
    "results/summary/roar.csv",
    "results/figures/fig5_torus.png",
    "results/summary/sanity.csv",
    "results/figures/sanity_torus.png",
    "results/figures/fig13_torus_seed0.png",
    "results/summary/theorem1.json",
    "results/study/index.html",
]


@pytest.fixture(scope="module")
def sources_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    data = root / "data"
    write_mnist(data / "mnist", 60, 12)
    write_emnist(data / "emnist", 40, 15)
    write_cifar10(data / "cifar", 8, 10)
    write_image_folder(data / "xray", n_per_class=(15, 4), size=(48, 44))
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_config(data)))
    result = snakemake(root, *TARGETS, configfile=config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return root


@pytest.mark.parametrize("dataset", list(EXPECTED))
def test_every_source_kind_runs_end_to_end(sources_run, dataset):
    kind, approach, n_test, shape = EXPECTED[dataset]
    table = pd.read_csv(sources_run / "results" / "summary" / "alignment.csv")
    rows = table[table["dataset"] == dataset]
    assert sorted(rows["method"]) == [
        "gradient",
        "manifold_integrated_gradients",
        "projected_gradient",
        "smoothgrad",
    ], kind
    assert (rows["n"] == n_test).all() and np.isfinite(rows["mean"]).all()
    assert ((rows["mean"] > 0) & (rows["mean"] <= 1)).all()
    # projected onto the dataset's own tangent spaces (dense or matrix-free): all of it lies in them
    projected = rows[rows["method"] == "projected_gradient"]
    assert (projected["mean"] > 0.999).all(), (kind, projected["mean"])
    data = read_dataset(sources_run / "results" / dataset / "seed0" / "data.zarr")
    assert data.attrs["approach"] == approach and tuple(data.attrs["image_shape"]) == shape
    assert (data.split == 1).sum() == n_test


def test_reconstructive_dataset_is_the_autoencoder_reconstruction_with_true_labels(sources_run):
    from manifold_xai.models.io import load_model

    run = sources_run / "results" / "emnist_rec" / "seed0"
    data = read_dataset(run / "data.zarr")
    source = read_dataset(sources_run / "results" / "emnist_rec" / "source.zarr")
    np.testing.assert_array_equal(data.labels, source.labels)
    ae = load_model(run / "manifold" / "model.pt", expect="conv_autoencoder")
    with torch.no_grad():
        z = ae.encode(torch.from_numpy(source.images[:4]))
        np.testing.assert_allclose(data.latents[:4], z.numpy(), atol=1e-5)
        np.testing.assert_allclose(data.images[:4], ae.decode(z).numpy(), atol=1e-5)
    assert data.latents.shape[1] == 4 * 4 * 4  # latent_channels · (32/8)²


def test_upsampled_dataset_keeps_the_base_samples_and_upsamples_the_decoder(sources_run):
    from manifold_xai.models.io import load_model

    results = sources_run / "results"
    base, up = (
        read_dataset(results / d / "seed0" / "data.zarr") for d in ("mnist_gen", "mnist_up")
    )
    np.testing.assert_array_equal(base.latents, up.latents)
    np.testing.assert_array_equal(base.labels, up.labels)
    np.testing.assert_allclose(
        up.images[:3], upsample(torch.from_numpy(base.images[:3]), 64).numpy(), atol=1e-6
    )
    decoder = load_model(
        results / "mnist_up" / "seed0" / "manifold" / "model.pt", expect="upsampled_decoder"
    )
    with torch.no_grad():
        np.testing.assert_allclose(
            decoder.decode(torch.from_numpy(up.latents[:3])).numpy(), up.images[:3], atol=1e-5
        )
    for name in ("fig3.png", "fig4_xray_seed0.png", "fig11_mnist_up_seed0.png"):
        assert (results / "figures" / name).stat().st_size > 1000


def test_torus_tangent_sources_are_compared_with_the_exact_tangent_space(sources_run):
    from manifold_xai.models.io import load_model
    from manifold_xai.store import open_store

    results = sources_run / "results"
    accuracy = pd.read_csv(results / "summary" / "tangent_accuracy.csv")
    assert list(accuracy.columns[:7]) == [
        "dataset",
        "seed",
        "source",
        "principal_angle_mean_deg",
        "principal_angle_max_deg",
        "ci_low",
        "ci_high",
    ]
    rows = accuracy.set_index("source")
    assert sorted(rows.index) == ["denoiser", "denoiser_mle", "local_pca", "vae"]
    assert set(rows["reference"]) == {"exact"}
    # a 2-epoch denoiser leaves every one of its max_k = 4 singular values above ½: no image gets a
    # dimension (NaN with its reason, not the cap), so its angles and fractions are undefined
    decided = rows.drop(index="denoiser")
    assert (
        (decided["principal_angle_mean_deg"] >= 0) & (decided["principal_angle_max_deg"] <= 90)
    ).all()
    assert (decided["principal_angle_mean_deg"] <= decided["principal_angle_max_deg"]).all()
    assert np.isnan(rows.loc["denoiser", "principal_angle_mean_deg"])
    fractions = pd.read_csv(results / "summary" / "tangent_fractions.csv")
    assert sorted(set(fractions["source"])) == [
        "denoiser",
        "denoiser_mle",
        "exact",
        "local_pca",
        "vae",
    ]
    assert len(fractions) == 5 * 4  # 5 sources × 4 methods
    assert np.isfinite(fractions[fractions["source"] != "denoiser"]["mean"]).all()
    undecided = fractions[fractions["source"] == "denoiser"]
    assert (undecided["n"] == 0).all() and (undecided["n_undefined"] == 10).all()
    assert set(fractions["own_source"]) == {"exact"}
    projected = fractions[fractions["method"] == "projected_gradient"].set_index("source")["mean"]
    # 1 in the exact tangent spaces it was projected onto; not in the VAE's, local PCA's, denoiser's
    assert projected["exact"] > 0.999
    assert max(projected["vae"], projected["local_pca"], projected["denoiser_mle"]) < 0.99
    # the per-image dimension: the renderer's rank 2, the denoiser's k read from its spectrum
    dims = pd.read_csv(results / "summary" / "intrinsic_dimension.csv").set_index("source")
    assert dims.loc["exact", "dimension_median"] == 2 and dims.loc["exact", "k"] == 2
    assert (dims["true_dimension"] == 2).all() and "levina_bickel" in dims.index
    assert dims.loc["denoiser", "k"] == 4 and dims.loc["denoiser", "rule"] == "spectrum, threshold"
    assert dims.loc["denoiser", "n_decided"] == 0 and dims.loc["denoiser", "share_within_1"] == 0
    assert np.isnan(dims.loc["denoiser", "dimension_median"])
    assert "dimension is at least max_k: 10" in dims.loc["denoiser", "undecided_reasons"]
    # the leading 2 singular vectors are still compared with the exact tangent space
    assert 0 <= dims.loc["denoiser", "angle_at_true_k_deg"] <= 90
    # denoiser_mle: the same vectors at the Levina-Bickel k, which the spectrum did not decide
    mle = dims.loc["denoiser_mle"]
    assert mle["rule"].startswith("maximum likelihood k") and mle["n_decided"] > 0
    assert mle["angle_at_true_k_deg"] == dims.loc["denoiser", "angle_at_true_k_deg"]
    denoiser = open_store(results / "torus" / "seed0" / "tangent_denoiser.zarr")
    assert denoiser.attrs["sigma"] == 0.1 and denoiser["singular_values"].shape == (10, 4)
    history = json.loads((results / "torus" / "seed0" / "denoiser" / "metrics.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [0, 1, 2]
    from manifold_xai.evaluation.claims import claims_for

    # the run's table feeds the ordering claim (claims.csv is not a target of this run)
    ordering = pd.DataFrame(claims_for({"tangent_fractions": fractions}))
    assert sorted(ordering["claim"].str.split(" the ").str[1]) == [
        "denoiser tangent source",
        "denoiser_mle tangent source",
        "local_pca tangent source",
        "vae tangent source",
    ]
    assert set(ordering["verdict"]) <= {"holds", "fails", "inconclusive"}
    run = results / "torus" / "seed0"
    assert open_store(run / "tangent.zarr").attrs["tangent_source"] == "exact"
    data = read_dataset(run / "data.zarr")
    renderer = load_model(run / "manifold" / "model.pt", expect="torus_renderer")
    with torch.no_grad():  # the data are the renderer's images at their latents (the angles)
        np.testing.assert_allclose(
            renderer.decode(torch.from_numpy(data.latents[:4])).numpy(), data.images[:4], atol=1e-6
        )
    assert (results / "figures" / "tangent_sources_torus.png").stat().st_size > 1000


def test_roar_road_and_sanity_checks_run_on_the_torus(sources_run):
    results = sources_run / "results"
    roar = pd.read_csv(results / "summary" / "roar.csv")
    assert sorted(zip(roar["method"], roar["fraction"], strict=True)) == sorted(
        [("none", 0.0)]
        + [(m, 0.5) for m in ("tangent", "projected_gradient", "blurred_gradient", "random")]
    )
    assert (
        roar["accuracy"].between(0, 1).all()
        and (roar["n_test"] == 10).all()
        and (roar["n_train"] == 40).all()
    )
    assert (roar["repeats"] == 2).all() and (roar["ci_low"] <= roar["accuracy"]).all()
    repeats = pd.read_csv(results / "summary" / "roar_repeats.csv")
    assert len(repeats) == 2 * len(roar) and repeats["repeat_seed"].is_unique
    road = pd.read_csv(results / "summary" / "road.csv")
    assert len(road) == 1 + 4 * 2 and set(road["order"]) == {"none", "morf", "lerf"}
    sanity = pd.read_csv(results / "summary" / "sanity.csv")
    assert set(sanity["mode"]) == {"cascading", "independent"} and set(sanity["method"]) == {
        "gradient",
        "smoothgrad",
        "projected_gradient",
        "manifold_integrated_gradients",
        "random_tangent",
    }
    # a projected gradient has fraction 1 like random_tangent, but it still reacts to the model
    projected = sanity[sanity["method"] == "projected_gradient"]
    np.testing.assert_allclose(projected["fraction"], 1, atol=1e-4)
    assert (projected["spearman"] < 0.99).any()
    random_tangent = sanity[sanity["method"] == "random_tangent"]
    np.testing.assert_allclose(
        random_tangent[["spearman_abs", "spearman", "ssim"]], 1
    )  # unchanged: fails the check
    np.testing.assert_allclose(
        random_tangent["fraction"], 1, atol=1e-4
    )  # ... and passes the manifold criterion
    assert sanity.groupby("mode")["layer"].nunique().eq(4).all()  # LeNet: 4 layers with parameters
    for name in (
        "fig5_torus.png",
        "sanity_torus.png",
        "fig13_torus_seed0.png",
        "fig8_simulation.png",
    ):
        assert (results / "figures" / name).stat().st_size > 1000


def test_theorem1_and_the_study_kit_run_and_the_responses_are_analysed(sources_run):
    import json

    results = sources_run / "results"
    theorem = json.loads((results / "summary" / "theorem1.json").read_text())
    assert {"p_grad_in_tangent", "p_grad_orthogonal", "test_accuracy", "d", "n_test"} <= set(
        theorem
    )
    assert theorem["d"] == 4 and theorem["n_test"] == 100
    stimuli = json.loads((results / "study" / "stimuli.json").read_text())
    tasks = {t["name"]: t for t in stimuli["tasks"]}
    # at most one per class (of the correctly classified images above the class median); 3 images
    assert 1 <= len(tasks["MNIST 1"]["cases"]) <= 4 and len(tasks["CIFAR 1"]["cases"]) == 3
    assert all(c["fraction_a"] == 0 and c["fraction_b"] == 1 for c in tasks["MNIST 1"]["cases"])
    assert "data:image/png;base64," in (results / "study" / "index.html").read_text()
    answers = sources_run / "answers"
    answers.mkdir(exist_ok=True)
    choices = [
        {"task": t, "case": c["id"], "choice": "B"} for t in tasks for c in tasks[t]["cases"]
    ]
    (answers / "responses-p1.json").write_text(
        json.dumps({"format": "manifold-xai/study-responses/1", "choices": choices})
    )
    config = yaml.safe_load((sources_run / "config.yaml").read_text())
    config["study"]["responses"] = str(answers)
    (sources_run / "config_responses.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(
        sources_run, "results/study/analysis.csv", configfile=sources_run / "config_responses.yaml"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert scheduled_jobs(result.stdout + result.stderr) == {
        "analyze_study": 1
    }  # the stimuli are not rebuilt
    table = pd.read_csv(results / "study" / "analysis.csv").set_index("task")
    assert (
        table.loc["MNIST 1", "B"] == len(tasks["MNIST 1"]["cases"])
        and table.loc["MNIST 1", "T_B"] == 1
    )
    assert table.loc["CIFAR 1", "N"] == 3 and table.loc["CIFAR 1", "A"] == 0


def test_paper_config_dry_run_schedules_every_dataset(tmp_path):
    result = snakemake(tmp_path, "-n", configfile=REPO / "configs" / "paper.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = scheduled_jobs(result.stdout)
    for name in ("mnist32", "mnist256", "emnist128", "cifar10", "pneumonia", "retinopathy"):
        assert f"results/{name}/seed0/alignment/standard.zarr" in result.stdout, name
    assert (
        jobs["train_classifier"] == 10 * 3 + 5
    )  # mnist32: 10 seeds x 3 regimes; the rest: 1 x standard
    assert (
        jobs["reconstruct_dataset"] == 4
        and jobs["sample_dataset"] == 10
        and jobs["upsample_dataset"] == 1
    )
    assert jobs["plot_fig3_all"] == 1 and jobs["plot_fig7_all"] == 1 and jobs["plot_fig11"] == 1
    assert (
        jobs["roar_retrain"] == 10 * 19 + 1 and jobs["road"] == 1 and jobs["sanity_checks"] == 1
    )  # mnist32, seed 0
    # mnist32: 10 seeds x (local PCA, denoiser); the other five datasets: the denoiser
    assert jobs["train_denoiser"] == 10 + 5 and jobs["compute_tangent_source"] == 10 * 2 + 5
    assert jobs["theorem1"] == 1 and jobs["study_stimuli"] == 1
