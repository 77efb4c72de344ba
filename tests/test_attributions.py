"""Attributions equal their closed forms on models whose gradients are known."""

import numpy as np
import pytest
import torch
from torch import nn

from manifold_xai.attribution import attribute

DEVICE = torch.device("cpu")
METHODS = {
    "gradient": {},
    "path_averaged_gradient": {"steps": 16, "method": "gausslegendre"},
    "input_x_gradient": {},
    "smoothgrad": {"stdev": 0.05, "samples": 8},
}


class Linear(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.fc = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            self.fc.weight.copy_(w)
            self.fc.bias.copy_(b)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Quadratic(nn.Module):
    """Two logits: sum(x²) and a constant, so class 0 is predicted for x ≠ 0."""

    def forward(self, x):
        s = (x.flatten(1) ** 2).sum(1)
        return torch.stack([s, torch.full_like(s, -1.0)], dim=1)


def test_linear_model_attributions_equal_closed_forms():
    g = torch.Generator().manual_seed(0)
    w, b = torch.randn(3, 16, generator=g), torch.randn(3, generator=g)
    x = torch.rand(10, 1, 4, 4, generator=g).numpy()
    model = Linear(w, b)
    attr, predicted = attribute(model, x, METHODS, device=DEVICE, batch_size=4, seed=0)
    expected_pred = (x.reshape(10, 16) @ w.numpy().T + b.numpy()).argmax(1)
    np.testing.assert_array_equal(predicted, expected_pred)
    grad = w.numpy()[predicted].reshape(x.shape)  # the weight row of the predicted class
    np.testing.assert_allclose(attr[0], grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        attr[1], grad, rtol=1e-5, atol=1e-6
    )  # path-averaged gradient = gradient
    np.testing.assert_allclose(attr[2], x * grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        attr[3], grad, rtol=1e-5, atol=1e-6
    )  # noise does not move a constant gradient


def test_integrated_gradients_is_x_times_gradient_for_linear_model():
    w, b = torch.randn(2, 9), torch.zeros(2)
    x = torch.rand(5, 1, 3, 3).numpy()
    methods = {"integrated_gradients": {"steps": 8, "method": "gausslegendre"}}
    attr, predicted = attribute(Linear(w, b), x, methods, device=DEVICE, batch_size=5, seed=0)
    np.testing.assert_allclose(
        attr[0], x * w.numpy()[predicted].reshape(x.shape), rtol=1e-5, atol=1e-6
    )


def test_quadratic_model_attributions_equal_closed_forms():
    x = (torch.rand(6, 1, 5, 5) + 0.1).numpy()
    attr, predicted = attribute(Quadratic(), x, METHODS, device=DEVICE, batch_size=3, seed=0)
    assert (predicted == 0).all()
    np.testing.assert_allclose(attr[0], 2 * x, rtol=1e-5)
    np.testing.assert_allclose(
        attr[1], x, rtol=1e-4
    )  # ∫₀¹ 2αx dα = x (Gauss-Legendre is exact here)
    np.testing.assert_allclose(attr[2], 2 * x * x, rtol=1e-5)
    # SmoothGrad: mean of 2(x + noise); the sample mean of 8 draws with σ=0.05 is within a few σ/√8.
    assert np.abs(attr[3] - 2 * x).max() < 2 * 5 * 0.05 / np.sqrt(8)


def test_smoothgrad_is_seeded_and_independent_of_other_methods():
    x = torch.rand(4, 1, 5, 5).numpy()
    sg = {"smoothgrad": METHODS["smoothgrad"]}
    a1, _ = attribute(Quadratic(), x, sg, device=DEVICE, batch_size=4, seed=7)
    a2, _ = attribute(Quadratic(), x, sg, device=DEVICE, batch_size=4, seed=7)
    a3, _ = attribute(Quadratic(), x, sg, device=DEVICE, batch_size=4, seed=8)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, a3)


def test_unknown_methods_and_parameters_are_rejected_left_out_ones_take_defaults():
    x = np.random.default_rng(0).random((2, 1, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="attribution method 'lrp' is not a built-in method"):
        attribute(Quadratic(), x, {"lrp": {}}, device=DEVICE, batch_size=1, seed=0)
    with pytest.raises(ValueError, match=r"'smoothgrad': unknown parameters \['sample'\]"):
        attribute(
            Quadratic(), x, {"smoothgrad": {"sample": 3}}, device=DEVICE, batch_size=1, seed=0
        )
    left_out, _ = attribute(Quadratic(), x, {"smoothgrad": {"samples": 3}})
    spelled, _ = attribute(Quadratic(), x, {"smoothgrad": {"samples": 3, "stdev": 0.02}})
    other, _ = attribute(Quadratic(), x, {"smoothgrad": {"samples": 3, "stdev": 0.5}})
    np.testing.assert_array_equal(left_out, spelled)
    assert not np.array_equal(left_out, other)
