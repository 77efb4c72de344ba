"""The method registry: Captum classes and a researcher's own function by name, their validation, and
their labels in the figures."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import REPO, SCHEMA
from manifold_xai.attribution import attribute
from manifold_xai.attribution.registry import method_errors, style, styles
from manifold_xai.config import ConfigError, validate_config

DEVICE = torch.device("cpu")
EXAMPLE = "examples/smoothed_gradient.py:smoothed_gradient"


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(w)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_captum_deeplift_equals_input_times_weight_on_a_linear_model():
    # DeepLift with the zero baseline on a linear model: (x - 0) ⊙ w_c, the closed form.
    w = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    x = np.random.default_rng(1).random((5, 1, 4, 4)).astype(np.float32)
    attr, predicted = attribute(
        Linear(w), x, {"deeplift": {"captum": "DeepLift"}}, device=DEVICE, batch_size=2, seed=0
    )
    expected = x * w.numpy()[predicted].reshape(x.shape)
    np.testing.assert_allclose(attr[0], expected, rtol=1e-5, atol=1e-6)


def test_captum_arguments_reach_the_class_lists_become_tuples():
    # Occlusion with a 2×2 window and stride 2 on a linear model: each window's attribution is the
    # drop of the logit when the window is zeroed, spread over its pixels: x ⊙ w summed per window.
    w = torch.randn(2, 16, generator=torch.Generator().manual_seed(2))
    x = np.random.default_rng(3).random((2, 1, 4, 4)).astype(np.float32)
    block = {
        "captum": "Occlusion",
        "attribute": {"sliding_window_shapes": [1, 2, 2], "strides": [1, 2, 2]},
    }
    attr, predicted = attribute(
        Linear(w), x, {"occlusion": block}, device=DEVICE, batch_size=2, seed=0
    )
    contribution = x * w.numpy()[predicted].reshape(x.shape)
    windows = contribution.reshape(2, 1, 2, 2, 2, 2).sum(axis=(3, 5))  # (n, c, 2, 2) window sums
    expected = np.repeat(np.repeat(windows, 2, axis=2), 2, axis=3)
    np.testing.assert_allclose(attr[0], expected, rtol=1e-4, atol=1e-5)


def test_own_function_by_file_path_is_called_with_its_params(monkeypatch):
    monkeypatch.chdir(REPO)
    w = torch.randn(2, 64, generator=torch.Generator().manual_seed(4))
    x = np.random.default_rng(5).random((3, 1, 8, 8)).astype(np.float32)
    methods = {
        "plain": {"function": EXAMPLE, "params": {"sigma": 1e-6}},
        "wide": {"function": EXAMPLE, "params": {"sigma": 2.0}},
    }
    attr, predicted = attribute(Linear(w), x, methods, device=DEVICE, batch_size=3, seed=0)
    gradient = w.numpy()[predicted].reshape(x.shape)
    np.testing.assert_allclose(attr[0], gradient, rtol=1e-5, atol=1e-6)  # no blur: the gradient
    assert np.abs(attr[1] - gradient).max() > 1e-2  # the params reached the function


def wrong_shape(model, x, target, params):
    return x.flatten(1)


def test_own_function_by_module_path_and_a_wrong_shape_is_named():
    x = np.zeros((1, 1, 2, 2), np.float32)
    with pytest.raises(
        ValueError, match=r"returned shape \(1, 4\), expected the input's \(1, 1, 2, 2\)"
    ):
        attribute(
            Linear(torch.ones(1, 4)),
            x,
            {"flat": {"function": "test_methods:wrong_shape"}},
            device=DEVICE,
            batch_size=1,
            seed=0,
        )


@pytest.mark.parametrize(
    ("name", "block", "message"),
    [
        ("smoothgrads", {}, "'smoothgrads' is not a built-in method"),
        ("x", {"captum": "NoSuchMethod"}, "captum.attr has no attribution class 'NoSuchMethod'"),
        ("x", {"captum": "LayerGradCam"}, "attributes to a layer"),
        ("x", {"captum": "NoiseTunnel"}, "wraps another method"),
        ("x", {"function": "missing/file.py:f"}, "no file missing/file.py"),
        ("x", {"function": "no_such_module_xyz:f"}, "cannot import 'no_such_module_xyz'"),
        ("x", {"function": "numpy:no_such_function"}, "has no callable 'no_such_function'"),
        ("x", {"function": "torch:ravel", "init": {}}, "'init' and 'attribute' are for Captum"),
        ("x", {"captum": "DeepLift", "params": {}}, "not 'params'"),
        ("x", {"captum": "DeepLift", "function": "torch:ravel"}, "not both"),
        ("random_tangent", {"function": "torch:ravel"}, "name of a reference map"),
    ],
)
def test_a_bad_method_block_is_named(name, block, message):
    errors = method_errors(name, block)
    assert len(errors) == 1 and message in errors[0], errors


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"captum": "NoSuchMethod"}, "captum.attr has no attribution class 'NoSuchMethod'"),
        ({"captum": "visualization"}, "captum.attr has no attribution class 'visualization'"),
        ({"captum": "LayerGradCam"}, "attributes to a layer"),
        ({"captum": "InternalInfluence"}, "attributes to a layer"),
        ({"captum": "NoiseTunnel"}, "wraps another method"),
        ({"function": "missing/file.py:f"}, "no file missing/file.py"),
        ({"function": "no_such_module_xyz:f"}, "cannot import 'no_such_module_xyz'"),
        ({"function": f"{EXAMPLE.split(':')[0]}:no_such_function"}, "has no callable"),
        ({"function": "manifold_xai.shapes:no_such_function"}, "has no callable"),
        ({"project": "p2", "label": "x"}, "projects 'p2'"),
    ],
)
def test_the_config_check_names_a_bad_block_without_importing_it(block, message, monkeypatch):
    """``load=False`` (the Snakefile's check) reads sources only, and still names each problem."""
    monkeypatch.chdir(REPO)
    errors = method_errors("x", block, {"gradient": {}}, load=False)
    assert len(errors) == 1 and message in errors[0], errors


def test_the_config_check_accepts_every_captum_class_the_full_check_accepts():
    """Reading captum.attr's exports never refuses a class that importing it would accept; the few
    exports it lets through that are no attribution class (Summarizer, …) fail in the job instead."""
    import captum.attr as attr

    from manifold_xai.attribution import plugins

    accepted = []
    for name in attr.__all__:
        try:
            plugins.captum_class(name)
        except ValueError:
            continue
        accepted.append(name)
        assert method_errors("x", {"captum": name}, load=False) == [], name
    assert {"DeepLift", "GradientShap", "Occlusion", "Saliency", "Lime"} <= set(accepted)


def test_the_config_check_accepts_the_examples_function_and_a_module_function(monkeypatch):
    monkeypatch.chdir(REPO)
    assert method_errors("x", {"function": EXAMPLE}, load=False) == []
    spec = "manifold_xai.shapes:autoencoder_latent_shape"
    assert method_errors("x", {"function": spec}, load=False) == []
    # numpy binds names by ``import *``: only importing it can tell, so the attributions job does
    assert method_errors("x", {"function": "numpy:anything"}, load=False) == []
    assert "has no callable 'anything'" in method_errors("x", {"function": "numpy:anything"})[0]


def test_the_config_names_a_bad_method_before_any_job_runs(monkeypatch):
    monkeypatch.chdir(REPO)
    config = {
        "standalone": True,
        "seeds": [0],
        "datasets": {"digits": {"source": {"kind": "digits"}}},
    }
    config["datasets"]["digits"]["attributions"] = {"gradient": {}, "dl": {"captum": "DeepLifft"}}
    with pytest.raises(
        ConfigError,
        match=r"datasets\.digits\.attributions\.dl: 'dl': captum\.attr has no attribution class 'DeepLifft'",
    ):
        validate_config(config, SCHEMA)
    config["datasets"]["digits"]["attributions"] = {
        "gradient": {},
        "DeepLift": {"captum": "DeepLift"},
    }
    with pytest.raises(ConfigError, match="DeepLift"):
        validate_config(config, SCHEMA)
    config["datasets"]["digits"]["attributions"] = {
        "gradient": {},
        "dl": {"captum": "DeepLift"},
        "mine": {"function": EXAMPLE},
    }
    blocks = validate_config(config, SCHEMA)["datasets"]["digits"]["attributions"]
    assert blocks["dl"]["batch_size"] == 20 and blocks["mine"]["batch_size"] == 20


def test_styles_label_a_method_by_config_registry_or_class_and_keep_its_colour():
    assert style("gradient") == {"label": "Gradient", "colour": "tab:blue"}
    assert style("gradient", {"label": "Vanilla gradient"})["label"] == "Vanilla gradient"
    assert style("dl", {"captum": "DeepLift"})["label"] == "DeepLift"
    assert style("my_method", {"function": EXAMPLE})["label"] == "My method"
    assert style("my_method")["colour"] == style("my_method", {"function": EXAMPLE})["colour"]
    table = styles({"dl": {"captum": "DeepLift", "colour": "black"}})
    assert table["dl"] == {"label": "DeepLift", "colour": "black"}
    assert table["random_tangent"]["label"] == "Random in tangent space" and "smoothgrad" in table


def test_a_figure_png_carries_the_labels_it_draws(tmp_path):
    from manifold_xai.figures.alignment import fig3_fraction_distributions
    from manifold_xai.figures.style import use_styles

    use_styles({"dl": {"label": "DeepLIFT (rescale)", "colour": "black"}})
    fractions = {"gradient": np.linspace(0.2, 0.4, 20), "dl": np.linspace(0.3, 0.6, 20)}
    path = tmp_path / "fig3.png"
    fig3_fraction_distributions(fractions, 0.1, "t", path, dpi=30)
    description = Image.open(path).info["Description"]
    assert "DeepLIFT (rescale)" in description and "Gradient" in description


def test_the_registry_defaults_are_the_schemas():
    import yaml

    from conftest import REPO
    from manifold_xai.attribution.registry import BUILTIN

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    blocks = schema["$defs"]["attributions"]["properties"]
    for name, spec in BUILTIN.items():
        from_schema = {
            key: value["default"]
            for key, value in blocks[name]["properties"].items()
            if key not in ("batch_size", "label", "colour")
        }
        assert dict(spec.defaults) == from_schema, name


def test_densities_stay_in_the_unit_interval_and_a_point_mass_is_a_line(tmp_path):
    import matplotlib.pyplot as plt

    from manifold_xai.figures.alignment import _density_panel, bounded_kde

    grid = np.linspace(0, 1, 4001)
    near_zero = np.random.default_rng(0).uniform(0, 0.05, 300)
    np.testing.assert_allclose(np.trapezoid(bounded_kde(near_zero, grid), grid), 1, atol=1e-3)
    fig, ax = plt.subplots()
    _density_panel(ax, {"gradient": near_zero, "projected": np.ones(50)}, 0.1, "t")
    assert ax.get_ylim()[1] < 100  # no spike of the point mass sets the scale
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.endswith("n = 50), all equal") for label in labels), labels
    plt.close(fig)
