"""Config validation: defaults filled, every bad key named."""

import copy

import pytest
import yaml

from conftest import REPO, SCHEMA
from manifold_xai.config import ConfigError, validate_config

MINIMAL = {"seeds": [0], "datasets": {"digits": {"source": {"kind": "digits"}}}}


@pytest.mark.parametrize("path", ["config.yaml", "configs/tiny.yaml"])
def test_shipped_configs_are_valid(path):
    validate_config(yaml.safe_load((REPO / path).read_text()), SCHEMA)


def test_defaults_are_filled_with_the_paper_values():
    cfg = validate_config(MINIMAL, SCHEMA)
    ds = cfg["datasets"]["digits"]
    assert ds["manifold"] == {"model": "btcvae", "latent_dim": 10, "alpha": 1, "beta": 6, "gamma": 1,
                              "epochs": 400, "lr": 0.0005, "batch_size": 64, "reg_anneal_steps": 10000}  # fmt: skip
    assert ds["attributions"]["integrated_gradients"]["multiply_by_inputs"] is False
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
        ("datasets.digits.manifold.latnt_dim", 3, "unknown key 'datasets.digits.manifold.latnt_dim'"),
        ("datasets.digits.manifold.latent_dim", 0, "datasets.digits.manifold.latent_dim: 0 is less than the minimum of 1"),
        ("datasets.digits.manifold.latent_dim", "ten", "datasets.digits.manifold.latent_dim: 'ten' is not of type 'integer'"),
        ("datasets.digits.manifold.latent_dim", 1024, "latent_dim: 1024 must be smaller than the image dimension 1024"),
        ("datasets.digits.source.kind", "cifar100", "datasets.digits.source.kind: 'cifar100' is not one of"),
        ("datasets.digits.source", {"kind": "mnist"}, "missing key at datasets.digits.source: 'root' is a required property"),
        ("datasets.digits.source.size", 32, "unknown key 'datasets.digits.source.size'"),
        ("datasets.digits.attributions.lrp", {}, "unknown key 'datasets.digits.attributions.lrp'"),
        ("datasets.digits.attributions.smoothgrad", {"stdev": -1}, "datasets.digits.attributions.smoothgrad.stdev"),
        ("datasets.digits.tangent.rank_rtol", 1.5, "datasets.digits.tangent.rank_rtol"),
        ("seeds", [], "seeds: [] should be non-empty"),
        ("device", "tpu", "device: 'tpu' does not match"),
        ("datasets.bad-name", {"source": {"kind": "digits"}}, "invalid name 'bad-name' at datasets"),
        ("datasets.digits.classifier.regimes", ["standard", "robust"], "datasets.digits.classifier.regimes.1: 'robust' is not one of"),
        ("datasets.digits.classifier.adversarial", {"epsilons": [0]}, "datasets.digits.classifier.adversarial.epsilons.0"),
        ("datasets.digits.classifier.checkpoints", [{"every": 5}], "missing key at datasets.digits.classifier.checkpoints.0"),
        ("datasets.digits.evaluation.curves", {"methods": ["lrp"]}, "datasets.digits.evaluation.curves.methods: ['lrp'] are not configured"),
    ],
)  # fmt: skip
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
