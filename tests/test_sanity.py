"""Model-parameter randomisation (sanity checks) and the similarity measures."""

import numpy as np
import pytest
import torch

from manifold_xai.evaluation.sanity import (
    parameter_layers,
    random_tangent_attribution,
    randomisation_states,
    randomise,
    spearman,
    ssim,
)
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.tangent.bases import fraction_in_tangent_space


@pytest.fixture
def lenet():
    return build_classifier("lenet", channels=1, image_size=32, n_classes=10).eval()


def _changed(a: torch.nn.Module, b: torch.nn.Module) -> set[str]:
    """Names of the modules owning a parameter or buffer that differs between two copies."""
    sa, sb = a.state_dict(), b.state_dict()
    return {k.rsplit(".", 1)[0] for k in sa if not torch.equal(sa[k], sb[k])}


def test_layers_are_listed_in_execution_order(lenet):
    layers = parameter_layers(lenet, torch.zeros(2, 1, 32, 32))
    owners = [n for n, m in lenet.named_modules() if any(True for _ in m.parameters(recurse=False))]
    assert sorted(layers) == sorted(owners) and len(layers) == 4
    assert isinstance(dict(lenet.named_modules())[layers[0]], torch.nn.Conv2d)
    assert isinstance(dict(lenet.named_modules())[layers[-1]], torch.nn.Linear)


def test_execution_order_is_not_registration_order():
    class Swapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.second = torch.nn.Linear(3, 2)  # registered first, runs second
            self.first = torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.second(self.first(x))

    assert parameter_layers(Swapped(), torch.zeros(1, 4)) == ["first", "second"]


def test_randomisation_changes_every_targeted_layer_and_nothing_else(lenet):
    layers = parameter_layers(lenet, torch.zeros(1, 1, 32, 32))
    before = {k: v.clone() for k, v in lenet.state_dict().items()}
    targeted = [layers[0], layers[-1]]
    randomised = randomise(lenet, targeted, seed=3)
    assert _changed(lenet, randomised) == set(targeted)
    assert all(
        torch.equal(before[k], v) for k, v in lenet.state_dict().items()
    )  # the original is untouched
    cascading = randomisation_states(lenet, layers, "cascading", seed=3)
    assert [label for label, _ in cascading] == list(reversed(layers))
    for i, (_, model) in enumerate(cascading):  # state i: the top i + 1 layers
        assert _changed(lenet, model) == set(layers[len(layers) - 1 - i :])
    for label, model in randomisation_states(lenet, layers, "independent", seed=3):
        assert _changed(lenet, model) == {label}
    # Same seed, same re-initialisation; each layer draws from its own seed.
    assert not _changed(randomise(lenet, targeted, seed=3), randomised)


def test_batch_norm_layers_are_reset_with_their_running_statistics():
    model = build_classifier("vgg16", channels=1, image_size=32, n_classes=10, width=0.0625).train()
    model(torch.randn(8, 1, 32, 32))  # moves the running statistics
    model.eval()
    layers = parameter_layers(model, torch.zeros(1, 1, 32, 32))
    bn = next(
        name
        for name in layers
        if isinstance(dict(model.named_modules())[name], torch.nn.BatchNorm2d)
    )
    reset = dict(randomise(model, [bn], seed=0).named_modules())[bn]
    assert torch.equal(reset.running_mean, torch.zeros_like(reset.running_mean))
    assert _changed(model, randomise(model, [bn], seed=0)) == {bn}


def test_similarity_measures():
    a = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    np.testing.assert_allclose(spearman(a, a), 1)
    np.testing.assert_allclose(spearman(a, -a), -1)
    np.testing.assert_allclose(ssim(a, a), 1)
    b = np.random.default_rng(1).standard_normal((3, 1, 8, 8))
    assert (np.abs(spearman(a, b)) < 0.5).all() and (ssim(a, b) < 0.5).all()
    assert np.isnan(spearman(np.ones((1, 4)), a.reshape(3, -1)[:1, :4]))[0]


def test_a_random_attribution_in_tangent_space_lies_in_it():
    q = np.linalg.qr(np.random.default_rng(2).standard_normal((64, 3)))[0].T
    basis = np.stack([q, q * np.array([[1], [1], [0]])]).astype(np.float32)  # ranks 3 and 2
    vectors = random_tangent_attribution(basis, np.array([3, 2]), seed=0)
    np.testing.assert_allclose(fraction_in_tangent_space(basis, vectors), 1, atol=1e-5)
    np.testing.assert_array_equal(
        vectors, random_tangent_attribution(basis, np.array([3, 2]), seed=0)
    )


def test_ssim_compares_absolute_maps():
    """Sign flips do not change |a|: SSIM of a and −a is 1 (the maps of the check are absolute)."""
    a = np.random.default_rng(3).standard_normal((2, 1, 12, 12))
    np.testing.assert_allclose(ssim(a, -a), 1)
