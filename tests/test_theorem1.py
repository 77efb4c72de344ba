"""The Theorem 1 construction: a closed curve on the hypercube's edges, half along e1, and the shares."""

import math

import numpy as np
import pytest
import torch

from manifold_xai.evaluation.theorem1 import (
    curve_vertices,
    gradient_fractions,
    sample_curve,
    simulate,
)


@pytest.mark.parametrize("d", [2, 3, 4, 5, 10, 11])
def test_the_curve_is_closed_spans_the_space_and_runs_half_along_e1(d):
    v = curve_vertices(d)
    steps = np.roll(v, -1, axis=0) - v  # the last segment closes the curve
    lengths = np.linalg.norm(steps, axis=1)
    assert (lengths > 0).all() and np.allclose(steps.sum(axis=0), 0)
    along = np.isclose(np.abs(steps[:, 0]), lengths)
    orthogonal = np.isclose(steps[:, 0], 0)
    assert (along | orthogonal).all()  # every segment runs along e1 or orthogonal to it
    assert lengths[along].sum() == pytest.approx(lengths[orthogonal].sum())
    assert np.linalg.matrix_rank(v - v[0]) == d  # in no proper affine subspace
    assert len({tuple(p) for p in np.round(v, 9)}) == len(v)  # no corner visited twice


def test_samples_lie_on_the_curve_outside_the_slab_with_unit_segment_tangents():
    d, eps = 6, 0.05
    points, tangents = sample_curve(d, 500, epsilon=eps, seed=0)
    assert points.shape == (500, d) and (np.abs(points[:, 0]) >= eps).all()
    np.testing.assert_allclose(np.linalg.norm(tangents, axis=1), 1)
    v = curve_vertices(d)
    start, end = v, np.roll(v, -1, axis=0)
    for p, t in zip(points[:50], tangents[:50], strict=True):
        # the point is on a segment whose direction is its tangent
        seg = end - start
        s = np.clip(((p - start) * seg).sum(1) / (seg**2).sum(1), 0, 1)
        dist = np.linalg.norm(start + s[:, None] * seg - p, axis=1)
        k = int(np.argmin(dist))
        assert dist[k] < 1e-9 and np.allclose(np.abs(seg[k] @ t), np.linalg.norm(seg[k]))


def test_a_gradient_along_e1_is_in_the_tangent_space_on_half_the_curve():
    d = 8
    points, tangents = sample_curve(d, 2000, epsilon=0.01, seed=1)
    linear = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        linear.weight.copy_(
            torch.eye(d)[:1]
        )  # f(x) = x1: the max-margin limit's gradient direction
    fractions = gradient_fractions(lambda x: linear(x).squeeze(-1), points, tangents)
    assert set(np.round(fractions, 9)) <= {0.0, 1.0}
    assert 0.45 < (fractions == 1).mean() < 0.52 and 0.48 < (fractions == 0).mean() < 0.55


def test_simulation_record_has_the_documented_keys():
    r = simulate(
        d=4,
        n_train=200,
        n_test=200,
        epsilon=0.05,
        width=32,
        epochs=300,
        lr=0.02,
        seed=0,
        tolerance_deg=10,
    )
    for key in ("p_grad_in_tangent", "p_grad_orthogonal", "test_accuracy", "d", "n_test"):
        assert key in r
    assert r["test_accuracy"] == 1.0 and r["d"] == 4 and r["n_test"] == 200
    assert 0 <= r["p_grad_in_tangent"] + r["p_grad_orthogonal"] <= 1
    assert r["p_grad_orthogonal"] == pytest.approx(
        np.mean(r["fractions"] <= math.sin(math.radians(10)))
    )


def test_tangent_shares_count_within_the_tolerance_of_the_line_and_of_orthogonal():
    from manifold_xai.evaluation.theorem1 import tangent_shares

    cos10, sin10 = np.cos(np.radians(10)), np.sin(np.radians(10))
    fractions = np.array([1.0, cos10 + 1e-9, 0.9, 0.5, sin10 - 1e-9, 0.0, 0.3, 0.95])
    p_in, p_orthogonal = tangent_shares(fractions, 10)
    assert (p_in, p_orthogonal) == (2 / 8, 2 / 8)
