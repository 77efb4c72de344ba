"""Config validation: defaults filled, every bad key named."""

import copy
import re

import pytest
import yaml

from conftest import REPO, SCHEMA
from manifold_xai.config import ConfigError, validate_config

MINIMAL = {"seeds": [0], "datasets": {"digits": {"source": {"kind": "digits"}}}}


@pytest.mark.parametrize("path", ["config.yaml", "configs/tiny.yaml", "configs/paper.yaml"])
def test_shipped_configs_are_valid(path):
    validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA)


def test_defaults_are_filled_with_the_paper_values():
    cfg = validate_config(MINIMAL, SCHEMA)
    ds = cfg["datasets"]["digits"]
    assert ds["manifold"] == {
        "model": "btcvae",
        "latent_dim": 10,
        "alpha": 1,
        "beta": 6,
        "gamma": 1,
        "epochs": 400,
        "lr": 0.0005,
        "batch_size": 64,
        "reg_anneal_steps": 10000,
    }
    assert ds["attributions"]["integrated_gradients"] == {
        "steps": 50,
        "method": "gausslegendre",
        "batch_size": 20,
    }
    assert ds["attributions"]["smoothgrad"] == {"stdev": 0.02, "samples": 25, "batch_size": 20}
    assert ds["sampling"]["rejection_power"] == 2
    assert cfg["device"] == "auto"
    assert MINIMAL["datasets"]["digits"] == {"source": {"kind": "digits"}}  # input not mutated


def _with(path: str, value):
    cfg = copy.deepcopy(MINIMAL)
    node = cfg
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return cfg


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", 1, "unknown key 'colour'"),
        (
            "datasets.digits.manifold.latnt_dim",
            3,
            "unknown key 'datasets.digits.manifold.latnt_dim'",
        ),
        (
            "datasets.digits.manifold.latent_dim",
            0,
            "datasets.digits.manifold.latent_dim: 0 is less than the minimum of 1",
        ),
        (
            "datasets.digits.manifold.latent_dim",
            "ten",
            "datasets.digits.manifold.latent_dim: 'ten' is not of type 'integer'",
        ),
        (
            "datasets.digits.manifold.latent_dim",
            1024,
            "latent_dim: 1024 must be smaller than the image dimension 1024",
        ),
        (
            "datasets.digits.source.kind",
            "cifar100",
            "datasets.digits.source.kind: 'cifar100' is not one of",
        ),
        (
            "datasets.digits.source",
            {"kind": "mnist"},
            "missing key at datasets.digits.source: 'root' is a required property",
        ),
        ("datasets.digits.source.size", 32, "unknown key 'datasets.digits.source.size'"),
        (
            "datasets.digits.attributions.lrp",
            {},
            "datasets.digits.attributions.lrp: 'lrp' is not a built-in method",
        ),
        (
            "datasets.digits.attributions.smoothgrad",
            {"stdev": -1},
            "datasets.digits.attributions.smoothgrad.stdev",
        ),
        ("datasets.digits.tangent.rank_rtol", 1.5, "datasets.digits.tangent.rank_rtol"),
        ("seeds", [], "seeds: [] should be non-empty"),
        ("device", "tpu", "device: 'tpu' does not match"),
        (
            "datasets.bad-name",
            {"source": {"kind": "digits"}},
            "invalid name 'bad-name' at datasets",
        ),
        (
            "datasets.digits.classifier.regimes",
            ["standard", "robust"],
            "datasets.digits.classifier.regimes.1: 'robust' is not one of",
        ),
        (
            "datasets.digits.classifier.adversarial",
            {"epsilons": [0]},
            "datasets.digits.classifier.adversarial.epsilons.0",
        ),
        (
            "datasets.digits.classifier.checkpoints",
            [{"every": 5}],
            "missing key at datasets.digits.classifier.checkpoints.0",
        ),
        (
            "datasets.digits.evaluation.curves",
            {"methods": ["lrp"]},
            "datasets.digits.evaluation.curves.methods: ['lrp'] are not configured",
        ),
        (
            "datasets.digits.evaluation",
            {"n_test": 10},
            "evaluation.curves.n_test: 500 exceeds evaluation.n_test 10",
        ),
        (
            "datasets.digits.manifold",
            {"model": "autoencoder"},
            "datasets.digits.manifold.model: the generative approach samples from a VAE prior",
        ),
        (
            "datasets.digits.manifold",
            {"model": "autoencoder", "latent_dim": 3},
            "unknown key 'datasets.digits.manifold.latent_dim'",
        ),
        (
            "datasets.digits.approach",
            "upsampled",
            "missing key at datasets.digits: 'upsample' is a required property",
        ),
        (
            "datasets.up",
            {"approach": "upsampled", "upsample": {"base": "mnist", "image_size": 64}},
            "datasets.up.upsample.base: no dataset 'mnist'",
        ),
        (
            "datasets.up",
            {"approach": "upsampled", "upsample": {"base": "digits", "image_size": 16}},
            "datasets.up.upsample.image_size: 16 must exceed 'digits''s 32",
        ),
        (
            "datasets.up",
            {
                "approach": "upsampled",
                "seeds": [5],
                "upsample": {"base": "digits", "image_size": 64},
            },
            "datasets.up.seeds: seeds [5] are not seeds of the base dataset",
        ),
        (
            "datasets.digits.classifier",
            {"arch": "vgg16", "pretrained": True},
            "ImageNet weights exist for resnet18 on 3-channel images only",
        ),
        (
            "datasets.small",
            {"source": {"kind": "digits", "image_size": 16}, "classifier": {"arch": "vgg16"}},
            "datasets.small.classifier.arch: vgg16 needs images of at least 32 pixels, the images are 16x16",
        ),
        (
            "datasets.xray",
            {
                "source": {"kind": "image_folder", "root": "x", "image_size": [36, 40]},
                "approach": "reconstructive",
                "manifold": {"model": "autoencoder"},
            },
            "datasets.xray.manifold.stride: the image size 36x40 is not divisible by the autoencoder stride 8",
        ),
        (
            "datasets.xray",
            {
                "source": {
                    "kind": "image_folder",
                    "root": "x",
                    "image_size": [32, 32],
                    "color": "gray",
                },
                "approach": "reconstructive",
                "manifold": {"model": "autoencoder", "latent_channels": 80, "stride": 2},
            },
            "datasets.xray.manifold.latent_channels: 20480 must be smaller than the image dimension 1024",
        ),
        (
            "datasets.digits.source",
            {"kind": "image_folder", "root": "x", "colour": "rgb"},
            "unknown key 'datasets.digits.source.colour'",
        ),
        (
            "datasets.digits.approach",
            "analytic",
            "datasets.digits.approach: analytic needs a source on a known manifold (kind torus)",
        ),
        (
            "datasets.digits.tangent_sources",
            {"sources": ["exact"]},
            "exact tangent spaces exist only for the analytic approach",
        ),
        (
            "datasets.digits.tangent_sources",
            {"sources": ["vae", "pca"]},
            "datasets.digits.tangent_sources.sources",
        ),
        (
            "datasets.digits.tangent_sources",
            {"sources": ["local_pca"], "local_pca": {"neighbours": 5}},
            "datasets.digits.tangent_sources.local_pca.neighbours: 5 neighbours cannot span k = 10 directions",
        ),
        (
            "datasets.t",
            {"source": {"kind": "torus", "orbit": 0.7}, "approach": "analytic"},
            "datasets.t.source.orbit",
        ),
        (
            "datasets.digits.roar",
            {"methods": ["gradient", "lrp"]},
            "datasets.digits.roar.methods: ['lrp'] are neither configured",
        ),
        ("datasets.digits.roar", {"fractions": [1.0]}, "datasets.digits.roar.fractions.0"),
        (
            "datasets.digits.sanity",
            {"seeds": [7]},
            "datasets.digits.sanity.seeds: [7] are not seeds of 'digits'",
        ),
        ("datasets.digits.sanity", {"modes": ["top_down"]}, "datasets.digits.sanity.modes.0"),
        (
            "study",
            {
                "tasks": [
                    {"name": "MNIST 1", "protocol": "tangent_vs_orthogonal", "dataset": "mnist"}
                ]
            },
            "study.tasks.0.dataset: no dataset 'mnist'",
        ),
        (
            "study",
            {
                "tasks": [
                    {"name": "M", "protocol": "fixed_pair", "dataset": "digits", "method_b": "lrp"}
                ]
            },
            "study.tasks.0: methods ['lrp'] are not configured",
        ),
        ("theorem1", {"d": 1}, "theorem1.d: 1 is less than the minimum of 2"),
        (
            "datasets.t",
            {
                "source": {"kind": "torus"},
                "approach": "analytic",
                "tangent_sources": {"sources": ["vae"]},
                "manifold": {"model": "autoencoder"},
            },
            "the vae source of an analytic dataset is a β-TCVAE",
        ),
    ],
)
def test_bad_config_is_rejected_naming_the_key(path, value, message):
    with pytest.raises(ConfigError) as err:
        validate_config(_with(path, value), SCHEMA)
    assert message in str(err.value)


def test_canonical_sorts_keys_recursively_so_params_reprs_match():
    from manifold_xai.config import canonical

    a = {"b": {"y": 1, "x": [{"d": 1, "c": 2}]}, "a": 0}
    b = {"a": 0, "b": {"x": [{"c": 2, "d": 1}], "y": 1}}
    assert repr(canonical(a)) == repr(canonical(b))
    assert list(canonical(a)) == ["a", "b"]


def test_an_mnist_source_gets_its_defaults():
    cfg = validate_config(
        _with("datasets.digits.source", {"kind": "mnist", "root": "data"}), SCHEMA
    )
    assert cfg["datasets"]["digits"]["source"] == {
        "kind": "mnist",
        "root": "data",
        "download": False,
        "image_size": 32,
    }


def test_tangent_sources_put_the_dataset_own_source_first():
    from manifold_xai.config_facts import local_pca_k, tangent_sources

    torus = {
        "source": {"kind": "torus"},
        "approach": "analytic",
        "tangent_sources": {
            "sources": ["local_pca", "vae", "exact"],
            "local_pca": {"neighbours": 4},
        },
    }
    cfg = validate_config(_with("datasets.t", torus), SCHEMA)
    assert tangent_sources(cfg, "t") == ["exact", "local_pca", "vae"]
    assert tangent_sources(cfg, "digits") == ["vae"]  # default: the own source only
    assert local_pca_k(cfg, "t") == 2 and local_pca_k(cfg, "digits") == 10
    assert cfg["datasets"]["t"]["source"]["axes"] == [0.28, 0.12]


# ------------------------------------------------------------------ overrides and the command line


def _leaf_paths(a, b, prefix=""):
    """Dotted paths where two nested dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            p
            for k in sorted(set(a) | set(b))
            for p in _leaf_paths(a.get(k), b.get(k), f"{prefix}{k}.")
        ]
    return [] if a == b else [prefix.rstrip(".")]


def test_a_one_key_file_changes_exactly_that_key_of_the_default_experiment():
    from manifold_xai.config import load_experiment

    default = validate_config(load_experiment({}, REPO / "config.yaml"), SCHEMA)
    one_key = {"datasets": {"mnist32": {"attributions": {"smoothgrad": {"samples": 50}}}}}
    changed = validate_config(load_experiment(one_key, REPO / "config.yaml"), SCHEMA)
    assert set(changed["datasets"]) == set(default["datasets"]) == {"mnist32", "torus", "torus3"}
    assert _leaf_paths(default, changed) == ["datasets.mnist32.attributions.smoothgrad.samples"]


def test_a_standalone_config_is_the_whole_experiment():
    from manifold_xai.config import load_experiment

    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    assert set(load_experiment(tiny, REPO / "config.yaml")["datasets"]) == {"digits"}
    without = {k: v for k, v in tiny.items() if k != "standalone"}
    assert "torus" in load_experiment(without, REPO / "config.yaml")["datasets"]


def test_command_line_lists_are_typed_then_validated_as_any_config():
    from snakemake.cli import parse_config

    from manifold_xai.config import load_experiment, typed_command_line

    command_line = parse_config(["seeds=[0,1,2]", "device=cpu", "bootstrap_resamples=300"])
    assert command_line["seeds"] == ["0", "1", "2"]  # what Snakemake hands the Snakefile
    assert typed_command_line(command_line) == {
        "seeds": [0, 1, 2],
        "device": "cpu",
        "bootstrap_resamples": 300,
    }
    assert typed_command_line({"a": ["1.5", "true", "null", "x1"]}) == {
        "a": [1.5, True, None, "x1"]
    }
    config = validate_config(
        load_experiment(command_line, REPO / "config.yaml", command_line), SCHEMA
    )
    assert config["seeds"] == [0, 1, 2] and config["device"] == "cpu"
    bad = parse_config(["seeds=[0,x]"])
    with pytest.raises(ConfigError, match="seeds.1: 'x' is not of type 'integer'"):
        validate_config(load_experiment(bad, REPO / "config.yaml", bad), SCHEMA)


def test_one_bad_dataset_name_is_the_only_one_reported():
    config = {
        "standalone": True,
        "seeds": [0],
        "datasets": {
            "digits": {"source": {"kind": "digits"}},
            "torus": {"source": {"kind": "torus"}, "approach": "analytic"},
            "bad-name": {"source": {"kind": "digits"}},
        },
    }
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "invalid name 'bad-name'" in message
    assert "'torus'" not in message and "'digits'" not in message, message


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        # generative: the generated test samples (sampling.n_test, default 10000)
        ({"evaluation": {"n_test": 10**9}}, "evaluation.n_test: 1000000000 exceeds the 10000 test"),
        # reconstructive packaged MNIST: ceil(5000 * 0.2) = 1000 test digits, 4000 for training
        (
            {
                "source": {"kind": "mnist_packaged"},
                "approach": "reconstructive",
                "manifold": {"model": "autoencoder", "stride": 4},
                "evaluation": {"n_test": 1001},
            },
            "evaluation.n_test: 1001 exceeds the 1000 test samples digits holds",
        ),
        (
            {
                "source": {"kind": "mnist_packaged"},
                "approach": "reconstructive",
                "manifold": {"model": "autoencoder", "stride": 4},
                "roar": {"n_train": 4001, "methods": ["gradient"], "fractions": [0.5]},
            },
            "roar.n_train: 4001 exceeds the 4000 training samples digits holds",
        ),
        (
            {
                "sampling": {"n_train": 100},
                "classifier": {
                    "regimes": ["standard", "random_labels"],
                    "random_labels": {"n_train": 200},
                },
            },
            "classifier.random_labels.n_train: 200 exceeds the 100 training samples",
        ),
    ],
)
def test_a_sample_size_above_what_the_dataset_holds_is_refused(dataset, message):
    cfg = copy.deepcopy(MINIMAL)
    cfg["datasets"]["digits"].update(dataset)
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_config(cfg, SCHEMA)


def test_a_size_only_the_files_know_is_not_checked_here():
    cfg = copy.deepcopy(MINIMAL)
    cfg["datasets"]["digits"].update(
        {
            "source": {"kind": "mnist", "root": "data"},
            "approach": "reconstructive",
            "manifold": {"model": "autoencoder", "stride": 4},
            "evaluation": {"n_test": 10000},
        }
    )
    validate_config(cfg, SCHEMA)  # MNIST's 10000 test images: at the limit, accepted
    cfg["datasets"]["digits"]["source"] = {
        "kind": "image_folder",
        "root": "x",
        "image_size": [32, 32],
    }
    cfg["datasets"]["digits"]["evaluation"]["n_test"] = 10**9
    validate_config(cfg, SCHEMA)  # an image folder's size is known only from its files
