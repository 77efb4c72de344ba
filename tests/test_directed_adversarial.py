"""Directed adversarial training (normal-only and tangent-only l2-PGD) and counterfactual walks along an
explanation, on manifolds where the answer is known in closed form: a linear manifold (tangent and
normal spaces fixed) and a circle (distance to the manifold in closed form)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from manifold_xai.evaluation.counterfactuals import (
    counterfactual_rows,
    labeller_flips,
    walk,
    walk_directions,
    walks_dataset,
)
from manifold_xai.tangent.space import BasisTangentSpace
from manifold_xai.training import adversarial
from manifold_xai.training.adversarial import pgd_l2, restrict_to
from manifold_xai.training.loops import train_adversarial

D, K = 16, 3  # 4x4 images on a 3-dimensional linear manifold


def _linear_manifold(seed=0):
    """An orthonormal (k, d) basis U of a k-dimensional linear subspace of R^d and an offset b."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((D, K)))
    return torch.tensor(q.T, dtype=torch.float32), torch.tensor(
        rng.uniform(0.3, 0.7, D), dtype=torch.float32
    )


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(D, 12), nn.Tanh(), nn.Linear(12, 3)).eval()


@pytest.mark.parametrize("part", ["normal", "tangent"])
def test_every_pgd_step_stays_in_its_subspace_on_a_linear_manifold(part):
    """Every iterate of the directed attack (random start included) lies in the normal space (U d = 0)
    or the tangent space (d = U^T U d) to 1e-6, is inside the l2 ball, and is not zero."""
    basis, offset = _linear_manifold()
    b = 6
    z = torch.randn(b, K, generator=torch.Generator().manual_seed(1))
    x = (z @ basis + offset).reshape(b, 1, 4, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    bases = basis.expand(b, K, D).contiguous()
    iterates = []
    adv = pgd_l2(
        _model(),
        x,
        y,
        eps=0.5,
        steps=6,
        generator=torch.Generator().manual_seed(2),
        basis=bases,
        part=part,
        iterates=iterates,
    )
    assert len(iterates) == 7  # the random start and every step
    for delta in [*iterates, adv - x]:
        flat = delta.reshape(b, D).double()
        tangent = flat @ basis.double().T @ basis.double()
        off = (flat - tangent) if part == "tangent" else tangent
        assert off.norm(dim=1).max() < 1e-6
        assert (flat.norm(dim=1) <= 0.5 + 1e-5).all()
        assert (flat.norm(dim=1) > 1e-3).all()


def test_an_undirected_attack_leaves_both_subspaces():
    """The control: plain PGD has a tangent and a normal part, so the directed test can fail."""
    basis, offset = _linear_manifold()
    x = (torch.randn(4, K) @ basis + offset).reshape(4, 1, 4, 4)
    delta = (pgd_l2(_model(), x, torch.tensor([0, 1, 2, 0]), 0.5, 4) - x).reshape(4, D)
    tangent = delta @ basis.T @ basis
    assert tangent.norm(dim=1).min() > 1e-3 and (delta - tangent).norm(dim=1).min() > 1e-3


def test_restrict_to_splits_a_vector_into_orthogonal_parts():
    basis, _ = _linear_manifold()
    v = torch.randn(5, 1, 4, 4)
    bases = basis.expand(5, K, D)
    tangent, normal = restrict_to(v, bases, "tangent"), restrict_to(v, bases, "normal")
    assert torch.allclose(tangent + normal, v, atol=1e-6)
    assert (tangent.reshape(5, D) * normal.reshape(5, D)).sum(1).abs().max() < 1e-5
    with pytest.raises(ValueError, match="unknown subspace"):
        restrict_to(v, bases, "sideways")


def test_directed_training_reads_each_images_own_basis(monkeypatch):
    """train_adversarial passes each batch's rows of the bases: with a different basis per image, a
    tangent-only attack must use the right one (else the attack would leave the image's own space)."""
    rng = np.random.default_rng(3)
    n = 20
    bases = torch.stack(
        [
            torch.tensor(np.linalg.qr(rng.standard_normal((D, K)))[0].T, dtype=torch.float32)
            for _ in range(n)
        ]
    )
    images = rng.uniform(0, 1, (n, 1, 4, 4)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    seen = []
    model = _model()

    def recording(v, basis, part):
        seen.append(basis.clone())
        return restrict_to(v, basis, part)

    monkeypatch.setattr(adversarial, "restrict_to", recording)
    train_adversarial(
        model,
        images,
        labels,
        epochs=1,
        lr=0.01,
        batch_size=5,
        milestones=[5],
        lr_gamma=0.1,
        epsilons=[0.5],
        steps=2,
        projection="per_sample",
        generator=torch.Generator().manual_seed(0),
        device=torch.device("cpu"),
        bases=bases,
        part="tangent",
    )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    assert torch.equal(seen[0], bases[order[:5]])


# -- counterfactual walks ------------------------------------------------------------------------
class _LinearDecoder(nn.Module):
    def __init__(self, basis, offset):
        super().__init__()
        self.basis, self.offset = basis, offset

    def forward(self, z):
        return z @ self.basis + self.offset


def _linear_classifier(w, c):
    """Two classes: logits (w·x + c, 0), so class 0 while w·x + c > 0."""

    def classify(x):
        score = x.reshape(len(x), -1) @ w + c
        return torch.stack([score, torch.zeros_like(score)], 1).argmax(1)

    return classify


def test_a_walk_on_a_linear_classifier_flips_at_the_known_distance():
    """Against the tangent part of the gradient w, each step lowers w·x by step·||P_T w||: the label
    flips after ceil((w·x0 + c) / (step ||P_T w||)) steps, at that many steps' distance."""
    basis, offset = _linear_manifold()
    decoder = _LinearDecoder(basis, offset)
    rng = np.random.default_rng(4)
    w = torch.tensor(rng.standard_normal(D), dtype=torch.float32)
    z0 = torch.tensor(rng.standard_normal((5, K)), dtype=torch.float32)
    x0 = decoder(z0)
    c = float(-(x0 @ w).min()) + 0.37  # every start in class 0, margins all different
    classify = _linear_classifier(w, c)
    space = BasisTangentSpace(basis.expand(5, K, D).numpy().astype(np.float64), np.full(5, K))
    attribution = np.tile(w.numpy(), (5, 1))  # the gradient of the class-0 logit
    direction = walk_directions(space, attribution, seed=0)["tangent"]
    step = 0.05
    result = walk(classify, decoder, z0.numpy(), direction, step=step, max_steps=400)
    pt_w = float(torch.linalg.norm(w @ basis.T))
    margin = (x0 @ w + c).numpy()
    expected = np.ceil(margin / (step * pt_w))
    expected = np.where(np.isclose(margin / (step * pt_w), expected), expected + 1, expected)
    assert result["flipped"].all()
    np.testing.assert_array_equal(result["steps"], expected)
    np.testing.assert_allclose(result["distance"], expected * step, rtol=1e-4)


def test_a_walk_that_never_flips_stops_at_the_budget_and_records_no_flip():
    """A tangent direction orthogonal to w moves the image every step but never changes w·x: after
    max_steps the walk records NaN steps and distance, not the budget."""
    basis, offset = _linear_manifold()
    decoder = _LinearDecoder(basis, offset)
    rng = np.random.default_rng(5)
    w = torch.tensor(rng.standard_normal(D), dtype=torch.float32)
    pt_w = w @ basis.T @ basis
    v = basis[0] - (basis[0] @ pt_w) / (pt_w @ pt_w) * pt_w  # tangent, orthogonal to w
    z0 = torch.tensor(rng.standard_normal((3, K)), dtype=torch.float32)
    c = float(-(decoder(z0) @ w).min()) + 1.0
    result = walk(
        _linear_classifier(w, c),
        decoder,
        z0.numpy(),
        np.tile(v.numpy(), (3, 1)),
        step=0.1,
        max_steps=7,
        keep=3,
    )
    assert not result["flipped"].any()
    assert np.isnan(result["steps"]).all() and np.isnan(result["distance"]).all()
    assert result["path"].shape == (3, 8, D)
    moved = np.linalg.norm(result["end"] - result["start"], axis=1)
    np.testing.assert_allclose(moved, 0.7, rtol=1e-4)  # it walked the whole budget
    ds = walks_dataset(
        {("gradient", "tangent"): {**result, "labeller_flipped": np.full(3, np.nan)}},
        {"dataset": "linear", "seed": 0, "regime": "standard", "step": 0.1, "max_steps": 7},
        (1, 4, 4),
    )
    (row,) = counterfactual_rows(ds, resamples=50)
    assert row["flip_rate"] == 0 and math.isnan(row["median_steps"])
    assert row["censored_median_steps"] == 8


class _CircleDecoder(nn.Module):
    """A circle of radius r in the plane of the first two pixels, offset by c: D(θ) = c + r(cos θ, sin θ, 0...)."""

    def __init__(self, r=2.0):
        super().__init__()
        self.r = r
        self.c = torch.linspace(0.1, 0.5, D)

    def forward(self, z):
        theta = z[:, :1]
        circle = torch.cat(
            [torch.cos(theta), torch.sin(theta), torch.zeros_like(theta).expand(-1, D - 2)], 1
        )
        return self.c + self.r * circle


def _distance_to_circle(x, decoder):
    y = x - decoder.c.numpy()
    in_plane = np.linalg.norm(y[:, :2], axis=1)
    return np.sqrt((in_plane - decoder.r) ** 2 + np.linalg.norm(y[:, 2:], axis=1) ** 2)


def test_reprojection_keeps_every_step_of_a_walk_on_a_curved_manifold():
    """A fixed pixel direction leaves the circle at once; after every step the walk's image is on the
    circle again (closed-form distance < 1e-5) and is the circle's nearest point to the stepped image."""
    decoder = _CircleDecoder()
    z0 = np.array([[0.3], [2.0], [-1.0]], dtype=np.float32)
    direction = np.zeros((3, D), dtype=np.float32)
    direction[:, 0], direction[:, 5] = 1.0, 0.5  # partly along the plane, partly off it

    def never(x):
        return torch.zeros(len(x), dtype=torch.int64)

    step = 0.2
    result = walk(never, decoder, z0, direction, step=step, max_steps=10, iterations=5, keep=3)
    path = result["path"]  # (3, 11, d)
    unit = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    for t in range(path.shape[1]):
        assert _distance_to_circle(path[:, t], decoder).max() < 1e-5
        if t:
            stepped = path[:, t - 1] + step * unit
            nearest = _distance_to_circle(stepped, decoder)
            np.testing.assert_allclose(
                np.linalg.norm(stepped - path[:, t], axis=1), nearest, atol=1e-4
            )
    assert np.linalg.norm(path[:, -1] - path[:, 0], axis=1).min() > 0.2  # it did move


def test_labeller_agreement_counts_only_flipped_walks():
    flipped = np.array([True, True, False])
    start, end = np.zeros((3, 2)), np.ones((3, 2))

    def label(images, _latents):
        return (images[:, 0] > 0.5).astype(int)

    out = labeller_flips(label, start, end, start, end, flipped)
    np.testing.assert_array_equal(out[:2], [1.0, 1.0])
    assert np.isnan(out[2])
    assert np.isnan(labeller_flips(None, start, end, start, end, flipped)).all()
