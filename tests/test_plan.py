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
    # mnist32: seeds 0 to 4 x standard, adversarial, random labels, and the two directed regimes on
    # their own three seeds; torus: its own seeds, standard; torus3: tangent spaces only, no runs
    assert default.datasets == ["mnist32", "torus", "torus3"]
    torus_seeds = default.seeds("torus")
    assert default.seeds("mnist32") == [0, 1, 2, 3, 4]
    assert len(default.runs()) == 5 * 3 + 2 * 3 + len(torus_seeds)
    assert default.runs("torus") == [("torus", s, "standard") for s in torus_seeds]
    assert default.runs("torus3") == []
    assert default.runs(regime="adversarial") == [("mnist32", s, "adversarial") for s in range(5)]
    assert default.runs(regime="adversarial_normal") == [
        ("mnist32", s, "adversarial_normal") for s in range(3)
    ]
    assert default.directed_runs() == [("mnist32", s) for s in range(3)]
    assert len(default.counterfactual_runs()) == 4 * 3
    # mnist32 has its decoder's tangent spaces only; the torus exact + vae + local_pca + denoiser
    assert default.tangent_sources("mnist32") == ["vae"]
    assert default.tangent_sources("torus") == [
        "exact",
        "vae",
        "local_pca",
        "denoiser",
        "denoiser_mle",
    ]
    assert default.tangent_sources("torus3") == [
        "exact",
        "local_pca",
        "denoiser",
        "flipd",
        "denoiser_mle",
    ]
    assert len(default.source_runs()) == len(torus_seeds) * 5
    assert default.compared_runs() == [("torus", s) for s in torus_seeds] + [("torus3", 0)]


def test_default_paths(default):
    assert default.tangent_path("torus", 0, "exact") == "results/torus/seed0/tangent.zarr"
    assert default.tangent_path("torus", 0, "vae") == "results/torus/seed0/tangent_vae.zarr"
    assert default.tangent_path("mnist32", 1, "vae") == "results/mnist32/seed1/tangent.zarr"
    assert (
        default.alignment_path("torus", 0, "standard", "local_pca")
        == "results/torus/seed0/alignment_local_pca/standard.zarr"
    )
    assert paths.ALIGNMENT.format(dataset="torus", seed=0, regime="standard") == (
        "results/torus/seed0/alignment/standard.zarr"
    )
    assert paths.prov("a/b.zarr") == "a/b.zarr.prov.json"


def test_default_roar_leaves_out_the_torus(default):
    assert default.roar_datasets() == ["mnist32"]
    assert default.sanity_datasets() == ["mnist32"]
    results = default.roar_results("mnist32")
    # seed 0 only: the unmodified baseline, then 7 methods x 3 fractions
    assert len(results) == 1 + 7 * 3
    assert results[0] == "results/mnist32/seed0/roar/none/0.json"
    assert "results/mnist32/seed0/roar/tangent/0.6.json" in results
    all_ = targets.all_targets(default)
    assert "results/figures/fig5_mnist32.png" in all_
    assert not any("fig5_torus" in t or "sanity_torus" in t for t in all_)
    assert "results/figures/fig7_mnist32.png" in all_  # mnist32 runs standard and adversarial
    assert "results/figures/fig7_torus.png" not in all_
    assert not any("fig11" in t for t in all_)  # no upsampled dataset
    assert all_[len(all_) // 2 :] == [paths.prov(t) for t in all_[: len(all_) // 2]]
    assert "results/summary/paper_comparison.csv" in all_  # mnist32 runs the paper's protocol
    assert default.paper_datasets() == ["mnist32"]


def test_tiny_has_one_dataset_and_no_second_source(tiny):
    regimes = (
        "standard",
        "adversarial",
        "random_labels",
        "adversarial_normal",
        "adversarial_tangent",
    )
    assert tiny.runs() == [("digits", 0, r) for r in regimes]
    assert tiny.compared_datasets() == [] and tiny.roar_datasets() == []
    tables = {"alignment", "curves", "robustness", "counterfactuals", "models"}
    assert set(targets.claims_inputs(tiny)) == tables | {f"{t}_prov" for t in tables}
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
    adversarial = params.classifier_params(default, "mnist32", "adversarial")
    assert "adversarial" in adversarial and "random_labels" not in adversarial
    assert "regimes" not in adversarial
    assert params.random_labels_n_train(default, "mnist32", "standard") is None
    assert params.tracked_attributions(default, "mnist32").keys() == {"gradient"}
    assert params.dataset_runtime(default, "mnist32", 0) == 1  # never below a minute


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
