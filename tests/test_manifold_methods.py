"""Methods that use the manifold (tangent projection, manifold-path IG) and on/off-manifold robustness."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import manifold_xai as mx
from manifold_xai.attribution.compute import attribute, attribute_each
from manifold_xai.attribution.manifold import ManifoldContext, manifold_path
from manifold_xai.attribution.registry import expand_projections, method_errors
from manifold_xai.evaluation.claims import claims_for
from manifold_xai.evaluation.robustness import manifold_robustness, noise_directions, split_noise
from manifold_xai.tangent.space import BasisTangentSpace

D, K, N = 64, 3, 12


class CurvedDecoder(nn.Module):
    """A nonlinear decoder R^3 -> 1x8x8 images."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(K, 32), nn.Tanh(), nn.Linear(32, D))

    def decode(self, z):
        return torch.sigmoid(self.net(z)).view(-1, 1, 8, 8)


def classifier():
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(D, 16), nn.ReLU(), nn.Linear(16, 4)).eval()


@pytest.fixture(scope="module")
def curved():
    decoder = CurvedDecoder().eval()
    z = np.random.default_rng(0).normal(size=(N, K)).astype(np.float32)
    with torch.no_grad():
        images = decoder.decode(torch.from_numpy(z)).numpy()
    return decoder, z, images


def orthonormal_rows(rng, n, k, d):
    q, _ = np.linalg.qr(rng.normal(size=(n, d, k)))
    return q.transpose(0, 2, 1)  # (n, k, d)


def test_projection_onto_an_exact_tangent_space_has_fraction_one_and_is_idempotent():
    rng = np.random.default_rng(0)
    exact = BasisTangentSpace(orthonormal_rows(rng, N, K, D))
    images = rng.uniform(size=(N, 1, 8, 8)).astype(np.float32)
    model = classifier()
    context = ManifoldContext(given_tangent=exact)
    methods = {"gradient": {}, "projected": {"project": "gradient"}}
    maps, _ = attribute(model, images, methods, manifold=context, batch_size=5)
    gradient, projected = maps[0].reshape(N, D), maps[1].reshape(N, D)
    np.testing.assert_allclose(exact.fractions(projected), 1, atol=1e-6)
    assert exact.fractions(gradient).max() < 0.9  # the gradient itself is not in the tangent space
    np.testing.assert_allclose(exact.project(projected), projected, atol=1e-6)  # idempotent
    np.testing.assert_allclose(projected, exact.project(gradient), atol=1e-6)  # P_T of the gradient
    # under another tangent space (another source), the projection is not all in it
    other = BasisTangentSpace(orthonormal_rows(np.random.default_rng(1), N, K, D))
    assert other.fractions(projected).max() < 0.95
    # one method at a time (the pipeline's path) gives the same maps, reusing the gradient
    each, _ = attribute_each(model, images, methods, manifold=context)
    np.testing.assert_allclose(each["projected"], maps[1], atol=1e-7)


def test_projection_of_a_stochastic_method_projects_exactly_that_methods_map():
    rng = np.random.default_rng(2)
    exact = BasisTangentSpace(orthonormal_rows(rng, N, K, D))
    images = rng.uniform(size=(N, 1, 8, 8)).astype(np.float32)
    methods = {"smoothgrad": {"samples": 3}, "projected": {"project": "smoothgrad"}}
    context = ManifoldContext(given_tangent=exact)
    maps, _ = attribute(classifier(), images, methods, manifold=context, batch_size=4)
    alone, _ = attribute(  # the projection alone, with its base's parameters from the block
        classifier(),
        images,
        {"projected": expand_projections(methods)["projected"]},
        manifold=context,
        batch_size=4,
    )
    expected = exact.project(maps[0].reshape(N, D)).reshape(maps[1].shape)
    np.testing.assert_allclose(maps[1], expected, atol=1e-6)
    np.testing.assert_allclose(alone[0], maps[1], atol=1e-6)  # same noise when computed alone


def test_manifold_path_stays_on_the_decoder_manifold(curved):
    decoder, z, _ = curved
    end = torch.from_numpy(z[:4])
    start = torch.zeros_like(end)
    alphas = torch.linspace(0, 1, 7)
    latents, points, velocity = manifold_path(decoder.decode, start, end, alphas)
    with torch.no_grad():
        for s in range(len(alphas)):
            np.testing.assert_allclose(points[s], decoder.decode(latents[s]), atol=1e-6)
        np.testing.assert_allclose(points[-1], decoder.decode(end), atol=1e-6)
        np.testing.assert_allclose(points[0], decoder.decode(start), atol=1e-6)
        # the velocity is the path's derivative in alpha
        h = 1e-3
        a = torch.full((1,), 0.5)
        ahead = decoder.decode(start + (a + h) * (end - start))
        behind = decoder.decode(start + (a - h) * (end - start))
        _, _, v = manifold_path(decoder.decode, start, end, a)
        np.testing.assert_allclose(v[0], (ahead - behind) / (2 * h), atol=2e-3)


def test_manifold_integrated_gradients_is_complete_along_the_manifold_path(curved):
    decoder, z, images = curved
    model = classifier()
    maps = mx.explain(
        model, images, "manifold_integrated_gradients", decoder=decoder, latents=z, steps=64
    )
    with torch.no_grad():
        logits = model(torch.from_numpy(images))
        target = logits.argmax(1, keepdim=True)
        baseline = model(decoder.decode(torch.zeros(N, K)))
    expected = (logits.gather(1, target) - baseline.gather(1, target)).flatten().numpy()
    np.testing.assert_allclose(maps.reshape(N, -1).sum(1), expected, atol=1e-4)
    assert not np.allclose(maps, mx.explain(model, images, "integrated_gradients"), atol=1e-3)


def test_methods_that_need_the_manifold_say_so_without_it(curved):
    _, _, images = curved
    with pytest.raises(ValueError, match="needs the images' decoder and latents"):
        mx.explain(classifier(), images, "manifold_integrated_gradients")
    with pytest.raises(ValueError, match="needs the images' tangent spaces"):
        mx.explain(classifier(), images, {"project": "gradient"})


def test_projection_blocks_are_checked_and_carry_their_base_parameters():
    blocks = {"smoothgrad": {"samples": 3, "stdev": 0.1}, "p": {"project": "smoothgrad"}}
    expanded = expand_projections(blocks)
    assert expanded["p"]["base"] == {"name": "smoothgrad", "samples": 3, "stdev": 0.1}
    assert method_errors("p", {"project": "nothing"}, blocks)[0].startswith(
        "'p': projects 'nothing', which is neither a method of the block"
    )
    assert "itself a projection" in method_errors("q", {"project": "p"}, blocks)[0]
    assert "unknown keys" in method_errors("p", {"project": "smoothgrad", "steps": 3}, blocks)[0]
    assert method_errors("p", {"project": "gradient"}, {}) == []  # a built-in with its defaults


def test_on_and_off_manifold_noise_are_orthogonal_and_have_the_requested_norm():
    rng = np.random.default_rng(3)
    space = BasisTangentSpace(orthonormal_rows(rng, N, K, D))
    samples = np.arange(N)
    on, off = split_noise(space, samples, 2.5, draws=5, seed=7)
    assert on.shape == off.shape == (5, N, D)
    np.testing.assert_allclose(np.linalg.norm(on, axis=-1), 2.5, rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(off, axis=-1), 2.5, rtol=1e-10)
    np.testing.assert_allclose(np.einsum("mnd,mnd->mn", on, off), 0, atol=1e-10)
    np.testing.assert_allclose(space.project(on, samples), on, atol=1e-10)  # on: in T
    np.testing.assert_allclose(space.project(off, samples), 0, atol=1e-10)  # off: orthogonal
    again, _ = split_noise(space, samples[3:5], 2.5, draws=5, seed=7)
    np.testing.assert_allclose(again, on[:, 3:5])  # per-sample draws: the same at every call


class TangentCoordinatesModel(nn.Module):
    """A nonlinear classifier of the tangent coordinates ``U (x − x0)`` only (one flat subspace U)."""

    def __init__(self, basis, origin):
        super().__init__()
        self.basis, self.origin = torch.from_numpy(basis), torch.from_numpy(origin)
        torch.manual_seed(3)
        self.head = nn.Sequential(nn.Linear(K, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        coordinates = (x.flatten(1).double() - self.origin) @ self.basis.T
        return self.head(coordinates.float())


def test_a_model_of_the_tangent_coordinates_alone_is_unchanged_by_off_manifold_noise():
    rng = np.random.default_rng(4)
    basis = orthonormal_rows(rng, 1, K, D)[0]  # a flat manifold: one tangent space everywhere
    origin = rng.uniform(size=D)
    z = rng.normal(size=(N, K))
    images = (origin + z @ basis).reshape(N, 1, 8, 8).astype(np.float32)
    space = BasisTangentSpace(np.repeat(basis[None], N, axis=0))
    model = TangentCoordinatesModel(basis, origin).eval()
    directions = noise_directions(space, N, draws=3, seed=0, batch_size=5)
    result = manifold_robustness(
        model, images, directions, norms=[0.5, 2.0], device="cpu", batch_size=5
    )
    for key in ("logit_change", "prob_change"):
        assert result[key].shape == (2, 2, N)
        np.testing.assert_allclose(result[key][:, 1], 0, atol=1e-5)  # off-manifold: no change
    assert (result["logit_change"][:, 0] > 1e-3).all()  # on-manifold: it reacts


def _robustness_table(slope):
    """Three seeds, three regimes, 6 checkpoints; relative robustness = 0.3 + slope · fraction."""
    rows = []
    for seed in (0, 1, 2):
        for r, regime in enumerate(("standard", "adversarial", "random_labels")):
            for step in range(6):
                fraction = 0.1 + 0.05 * step + 0.1 * r + 0.01 * seed
                for norm in (0.5, 1.0, 2.0):
                    relative = 0.3 + slope * fraction
                    on = 1.0
                    rows.append(
                        {
                            "dataset": "digits",
                            "seed": seed,
                            "regime": regime,
                            "step": step,
                            "norm": norm,
                            "on_logit": on,
                            "off_logit": on * (1 - relative) / relative,
                            "relative_off_robustness": relative,
                            "gradient_fraction": fraction,
                        }
                    )
    return pd.DataFrame(rows)


def test_robustness_claims_follow_the_measured_relation():
    holds = {r["claim"]: r for r in claims_for({"robustness": _robustness_table(slope=0.5)})}
    assert holds["off-manifold robustness rises with alignment"]["verdict"] == "holds"
    assert holds["off-manifold robustness rises with alignment"]["value"] > 0.99
    assert holds["robust models more robust off-manifold than on"]["verdict"] == "holds"
    assert (
        holds["robust models relatively more off-manifold robust than standard"]["verdict"]
        == "holds"
    )
    fails = {r["claim"]: r for r in claims_for({"robustness": _robustness_table(slope=-0.5)})}
    assert fails["off-manifold robustness rises with alignment"]["verdict"] == "fails"
    assert fails["robust models more robust off-manifold than on"]["verdict"] == "fails"


def test_a_context_computes_tangent_spaces_one_batch_at_a_time(curved):
    """At paper scale the images' bases do not fit at once: ``tangent_at`` is asked per batch only, and
    the maps equal those of the whole space given at once."""
    decoder, z, images = curved
    whole = mx.from_decoder(decoder, z)
    asked = []

    def tangent_at(samples):
        asked.append(len(samples))
        return mx.from_decoder(decoder, z[samples])

    methods = {"gradient": {}, "p": {"project": "gradient"}}
    lazy, _ = attribute_each(
        classifier(), images, methods, manifold=ManifoldContext(tangent_at=tangent_at)
    )
    given, _ = attribute_each(
        classifier(), images, methods, manifold=ManifoldContext(given_tangent=whole)
    )
    np.testing.assert_allclose(lazy["p"], given["p"], atol=1e-6)
    asked.clear()
    attribute(
        classifier(), images, methods, manifold=ManifoldContext(tangent_at=tangent_at), batch_size=5
    )
    assert asked == [5, 5, 2]  # once per batch, not for all 12 images
