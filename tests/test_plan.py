"""The run plan (manifold_xai.plan) on the three shipped configs: which runs exist, their paths, which
datasets take part where, the targets of `all`; and that the rule files plan exactly those jobs."""

import collections
import json
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, SCHEMA, with_examples
from manifold_xai.config import ConfigError
from manifold_xai.plan import params, paths, targets
from manifold_xai.plan.runs import RunPlan, validated_config

DEFAULT = REPO / "config.yaml"


def plan_of(path: str) -> RunPlan:
    """The plan Snakemake builds for `--configfile path` (config.yaml: no configfile)."""
    given = {} if path == "config.yaml" else yaml.safe_load((REPO / path).read_text())
    return RunPlan(validated_config(given, DEFAULT, SCHEMA))


@pytest.fixture(scope="module")
def default():
    return plan_of("config.yaml")


@pytest.fixture(scope="module")
def tiny():
    return plan_of("configs/tiny.yaml")


@pytest.fixture(scope="module")
def paper():
    return plan_of("configs/paper.yaml")


def test_default_runs_and_sources(default):
    # digits: seeds 0, 1 x standard, adversarial, random labels; torus: seed 0, standard
    assert default.datasets == ["digits", "torus"]
    assert len(default.runs()) == 2 * 3 + 1
    assert default.runs("torus") == [("torus", 0, "standard")]
    assert default.runs(regime="adversarial") == [
        ("digits", 0, "adversarial"),
        ("digits", 1, "adversarial"),
    ]
    # digits has vae + local_pca + denoiser, the torus exact + vae + local_pca + denoiser
    assert default.tangent_sources("torus") == ["exact", "vae", "local_pca", "denoiser"]
    assert len(default.source_runs()) == 6 * 3 + 1 * 4
    assert default.compared_runs() == [("digits", 0), ("digits", 1), ("torus", 0)]


def test_default_paths(default):
    assert default.tangent_path("torus", 0, "exact") == "results/torus/seed0/tangent.zarr"
    assert default.tangent_path("torus", 0, "vae") == "results/torus/seed0/tangent_vae.zarr"
    assert default.tangent_path("digits", 1, "vae") == "results/digits/seed1/tangent.zarr"
    assert (
        default.alignment_path("digits", 1, "adversarial", "local_pca")
        == "results/digits/seed1/alignment_local_pca/adversarial.zarr"
    )
    assert paths.ALIGNMENT.format(dataset="torus", seed=0, regime="standard") == (
        "results/torus/seed0/alignment/standard.zarr"
    )
    assert paths.prov("a/b.zarr") == "a/b.zarr.prov.json"


def test_default_roar_leaves_out_the_torus(default):
    assert default.roar_datasets() == ["digits"]
    assert default.sanity_datasets() == ["digits"]
    results = default.roar_results("digits")
    # seed 0 only: the unmodified baseline, then 7 methods x 3 fractions
    assert len(results) == 1 + 7 * 3
    assert results[0] == "results/digits/seed0/roar/none/0.json"
    assert "results/digits/seed0/roar/tangent/0.6.json" in results
    all_ = targets.all_targets(default)
    assert "results/figures/fig5_digits.png" in all_
    assert not any("fig5_torus" in t or "sanity_torus" in t for t in all_)
    assert "results/figures/fig7_digits.png" in all_  # digits runs standard and adversarial
    assert "results/figures/fig7_torus.png" not in all_
    assert not any("fig11" in t for t in all_)  # no upsampled dataset
    assert all_[len(all_) // 2 :] == [paths.prov(t) for t in all_[: len(all_) // 2]]


def test_tiny_has_one_dataset_and_no_second_source(tiny):
    assert tiny.runs() == [("digits", 0, r) for r in ("standard", "adversarial", "random_labels")]
    assert tiny.compared_datasets() == [] and tiny.roar_datasets() == []
    assert set(targets.claims_inputs(tiny)) == {
        "alignment",
        "curves",
        "robustness",
        "alignment_prov",
        "curves_prov",
        "robustness_prov",
    }
    assert "results/summary/tangent_accuracy.csv" not in targets.all_targets(tiny)


def test_paper_runs_and_evaluations(paper):
    # mnist32: 10 seeds x 3 regimes; mnist256, emnist128, cifar10, pneumonia, retinopathy: standard
    assert len(paper.runs()) == 10 * 3 + 5
    assert paper.roar_datasets() == ["mnist32"]  # every other dataset is left out of ROAR
    assert len(paper.roar_results("mnist32")) == 1 + 10 * 19
    assert paper.approach("mnist256") == "upsampled"
    assert "results/figures/fig11_mnist256_seed0.png" in targets.all_targets(paper)
    assert "results/figures/fig2_mnist256_seed0.png" not in targets.all_targets(paper)
    assert paper.datasets_with("upsampled") == "mnist256"
    assert paper.datasets_with("analytic") == "(?!)"


def test_params_slices(default):
    adversarial = params.classifier_params(default, "digits", "adversarial")
    assert "adversarial" in adversarial and "random_labels" not in adversarial
    assert "regimes" not in adversarial
    assert params.random_labels_n_train(default, "digits", "standard") is None
    assert params.tracked_attributions(default, "digits").keys() == {"gradient"}
    assert params.dataset_runtime(default, "digits", 0) == 1  # never below a minute


def test_study_responses_without_files_is_a_config_error(tmp_path, default):
    config = dict(default.config, study=dict(default.config["study"], responses=str(tmp_path)))
    with pytest.raises(ConfigError, match="no responses-"):
        RunPlan(config).study_responses()


@pytest.mark.parametrize("path", ["config.yaml", "configs/tiny.yaml"])
def test_the_rules_plan_what_the_plan_says(tmp_path, path):
    """The jobs of a dry run (tools/dag_dump.py, the real Snakefile) against the plan's lists."""
    with_examples(tmp_path)
    configfile = [] if path == "config.yaml" else ["--configfile", str(REPO / path)]
    dump = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "dag_dump.py"),
            "--snakefile",
            str(REPO / "Snakefile"),
        ]
        + ["--directory", str(tmp_path), *configfile],
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = json.loads(dump.stdout)
    count = collections.Counter(job["rule"] for job in jobs)
    plan = plan_of(path)
    assert count["train_classifier"] == len(plan.trained_runs())
    assert count["compute_alignment"] == len(plan.runs())
    own = len([r for r in plan.runs() if r[0] in plan.compared_datasets()])
    assert count["compute_alignment_source"] == len(plan.source_runs()) - own
    assert count["roar_retrain"] == sum(len(plan.roar_results(d)) for d in plan.roar_datasets())
    (final,) = [job for job in jobs if job["rule"] == "all"]
    assert final["input"] == sorted(targets.all_targets(plan))
