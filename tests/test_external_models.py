"""A researcher's own classifier and manifold model (models.external): accepted in every form, loaded
back with the same outputs; the config that names them (tests/test_bad_input.py: the bad files)."""

import warnings

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO
from manifold_xai.config import ConfigError, validate_config
from manifold_xai.models.external import import_external
from manifold_xai.models.io import load_model, save_payload
from manifold_xai.plan.runs import RunPlan

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
OWN = REPO / "examples" / "own_models.py"


@pytest.fixture(scope="module")
def own():
    import importlib.util

    spec = importlib.util.spec_from_file_location("own_models_for_test", OWN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def images(n=5):
    return np.random.default_rng(0).random((n, 1, 32, 32), dtype=np.float32)


def _round_trip(tmp_path, spec, role, **expect):
    payload, model = import_external(spec, role, images(), **expect)
    save_payload(tmp_path / "model.pt", payload)
    return model, load_model(tmp_path / "model.pt")


def test_a_module_with_its_state_dict(tmp_path, own):
    torch.manual_seed(0)
    torch.save(own.TinyClassifier(width=4).state_dict(), tmp_path / "w.pt")
    spec = {
        "module": f"{OWN}:TinyClassifier",
        "kwargs": {"width": 4},
        "weights": str(tmp_path / "w.pt"),
    }
    model, loaded = _round_trip(tmp_path, spec, "classifier", n_classes=10)
    x = torch.from_numpy(images())
    torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.parametrize("kind", ["export", "torchscript"])
def test_an_archive(tmp_path, own, kind):
    torch.manual_seed(0)
    net = own.TinyClassifier().eval()
    x = torch.from_numpy(images())
    if kind == "export":
        batch = torch.export.Dim("batch")
        torch.export.save(
            torch.export.export(net, (x,), dynamic_shapes={"x": {0: batch}}), tmp_path / "a.pt2"
        )
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still read
            torch.jit.save(torch.jit.script(net), tmp_path / "a.pt2")
    _, loaded = _round_trip(
        tmp_path, {"archive": str(tmp_path / "a.pt2")}, "classifier", n_classes=10
    )
    torch.testing.assert_close(loaded(x), net(x))
    loaded.train()  # an exported program's mode is fixed at export: switching it does not raise
    loaded.eval()
    xr = x.clone().requires_grad_(True)  # and it is differentiable (attributions need the gradient)
    loaded(xr)[:, 3].sum().backward()
    assert xr.grad.abs().sum() > 0


def test_a_decoder_and_encoder(tmp_path, own):
    torch.manual_seed(0)
    torch.save(own.TinyAutoencoder(latent_dim=6).state_dict(), tmp_path / "ae.pt")
    spec = {
        "module": f"{OWN}:TinyAutoencoder",
        "kwargs": {"latent_dim": 6},
        "weights": str(tmp_path / "ae.pt"),
    }
    model, loaded = _round_trip(tmp_path, spec, "manifold", latent_dim=6, encoder=True)
    z = torch.randn(3, 6)
    torch.testing.assert_close(loaded.decode(z), model.decode(z))
    assert loaded.latent_dim == 6


def _digits(**classifier_or_manifold):
    config = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    config["datasets"]["digits"].update(classifier_or_manifold)
    return config


EXTERNAL = {"module": "examples/own_models.py:TinyClassifier", "weights": "models/c.pt"}


def test_an_external_classifier_replaces_the_regimes_and_its_curves():
    config = validate_config(_digits(classifier={"external": EXTERNAL}), SCHEMA)
    digits = config["datasets"]["digits"]
    assert digits["classifier"]["regimes"] == ["external"]
    # tiny.yaml keys the directed regimes' methods and walks the trained regimes: both are dropped
    assert digits["classifier"]["regime_methods"] == {}
    assert digits["evaluation"]["counterfactuals"]["regimes"] is None
    assert RunPlan(config).counterfactual_runs() == [("digits", 0, "external")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"classifier": {"external": EXTERNAL}, "roar": {"methods": ["gradient"]}},
            "datasets.digits.roar: retrains or randomises classifiers the pipeline trains; "
            "datasets.digits.classifier.external is set",
        ),
        (
            {"classifier": {"external": {**EXTERNAL, "archive": "m.pt2"}}},
            "datasets.digits.classifier.external",
        ),
        (
            {"classifier": {"external": {"weights": "models/c.pt"}}},
            "datasets.digits.classifier.external",
        ),
        (
            {"classifier": {"regimes": ["external"]}},
            "'external' is the regime of a classifier given under datasets.digits.classifier.external",
        ),
        ({"manifold": {"model": "external", "archive": "m.pt2"}}, "latent_dim"),
    ],
)
def test_bad_external_config(change, message):
    with pytest.raises(ConfigError, match=None) as error:
        validate_config(_digits(**change), SCHEMA)
    assert message in str(error.value) and "\n" not in str(error.value).strip(), str(error.value)


def test_a_torchscript_archive_with_encode_and_decode_is_a_manifold(tmp_path, own):
    class Scriptable(own.TinyAutoencoder):
        @torch.jit.export
        def encode(self, x: torch.Tensor) -> torch.Tensor:
            return self.encoder(x)

        @torch.jit.export
        def decode(self, z: torch.Tensor) -> torch.Tensor:
            return self.decoder(z)

    torch.manual_seed(0)
    net = Scriptable().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), tmp_path / "ae.pt2")
    spec = {"archive": str(tmp_path / "ae.pt2")}
    _, loaded = _round_trip(tmp_path, spec, "manifold", latent_dim=8, encoder=True)
    z = torch.randn(3, 8)
    torch.testing.assert_close(loaded.decode(z), net.decode(z))
    assert loaded.latent_dim == 8
    import manifold_xai as mx

    assert list(mx.from_decoder(loaded, z.numpy()).rank()) == [8, 8, 8]
