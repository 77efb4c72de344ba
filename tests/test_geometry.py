"""The analytic torus manifold (exact tangents), local PCA and principal angles."""

import math

import numpy as np
import torch

from manifold_xai.data.torus import label_params, render, render_jacobian, sample_params
from manifold_xai.tangent.bases import fraction_in_tangent_space, orthonormal_basis
from manifold_xai.tangent.geometry import (
    local_pca_tangents,
    nearest_neighbours,
    principal_angles_deg,
)


def test_renderer_jacobian_matches_finite_differences():
    params = torch.tensor(sample_params(5, seed=0), dtype=torch.float64)
    jac = render_jacobian(params)  # (5, 1024, 2)
    eps = 1e-6
    for j in range(2):
        step = torch.zeros_like(params)
        step[:, j] = eps
        fd = (render(params + step) - render(params - step)).reshape(5, -1) / (2 * eps)
        torch.testing.assert_close(jac[..., j], fd, rtol=1e-5, atol=1e-7)
    assert jac.abs().amax() > 0.1  # the test is not vacuous: the images move


def test_the_manifold_is_a_torus_and_images_lie_in_the_unit_interval():
    p = torch.tensor([[0.3, 1.1]], dtype=torch.float64)
    img = render(p)
    assert img.shape == (1, 1, 32, 32) and 0 <= img.min() and img.max() <= 1
    torch.testing.assert_close(render(p + 2 * math.pi), img)  # periodic in φ and θ
    torch.testing.assert_close(
        render(p + torch.tensor([[0, math.pi]])), img, atol=1e-6, rtol=0
    )  # symmetric ellipse
    assert not torch.allclose(render(p + torch.tensor([[0.5, 0]])), img)
    assert set(label_params(sample_params(200, 1))) == {0, 1, 2, 3}


def test_random_vectors_under_the_exact_tangent_space_give_sqrt_k_over_d():
    params = torch.tensor(sample_params(1000, seed=2), dtype=torch.float64)
    basis, _, rank = orthonormal_basis(render_jacobian(params))
    assert (rank == 2).all()
    vectors = np.random.default_rng(3).standard_normal((1000, 1024))
    mean = fraction_in_tangent_space(basis.numpy(), vectors).mean()
    # ≈ sqrt(k/d); exactly, for d >> k, E[chi_k] / sqrt(d) = sqrt(2/d) Γ((k+1)/2) / Γ(k/2) (0.886 sqrt(k/d) at k=2)
    expected = math.sqrt(2 / 1024) * math.gamma(1.5) / math.gamma(1.0)
    assert abs(mean - expected) < 0.03 * expected
    assert abs(mean - math.sqrt(2 / 1024)) < 0.15 * math.sqrt(2 / 1024)


def test_principal_angles_of_equal_and_orthogonal_subspaces():
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 4)))[
        0
    ].T  # 4 orthonormal rows in R^10
    np.testing.assert_allclose(principal_angles_deg(q[None, :2], q[None, :2]), 0, atol=1e-6)
    np.testing.assert_allclose(principal_angles_deg(q[None, :2], q[None, 2:]), 90, atol=1e-6)
    mixed = np.stack([q[0], (q[1] + q[2]) / math.sqrt(2)])
    np.testing.assert_allclose(principal_angles_deg(q[None, :2], mixed[None]), [[0, 45]], atol=1e-6)


def test_local_pca_recovers_the_exact_tangent_space_on_a_dense_sample():
    reference = (
        render(torch.tensor(sample_params(6000, seed=4), dtype=torch.float64))
        .reshape(6000, -1)
        .numpy()
    )
    queries = torch.tensor(sample_params(20, seed=5), dtype=torch.float64)
    exact, _, _ = orthonormal_basis(render_jacobian(queries))
    estimate, values = local_pca_tangents(
        render(queries).reshape(20, -1).numpy(), reference, k=2, neighbours=8
    )
    assert estimate.shape == (20, 2, 1024) and (np.diff(values, axis=1) <= 0).all()
    angles = principal_angles_deg(estimate, exact.numpy())
    assert np.median(angles[:, 1]) < 25  # largest angle, typical point
    sparse, _ = local_pca_tangents(
        render(queries).reshape(20, -1).numpy(), reference[:60], k=2, neighbours=8
    )
    assert np.median(principal_angles_deg(sparse, exact.numpy())[:, 1]) > np.median(angles[:, 1])


def test_blocked_nearest_neighbours_match_a_full_distance_matrix_and_skip_the_query_itself():
    rng = np.random.default_rng(6)
    reference = rng.standard_normal((300, 50)).astype(np.float32)
    queries = np.concatenate([reference[:3], rng.standard_normal((7, 50)).astype(np.float32)])
    idx = nearest_neighbours(queries, reference, m=5, batch_size=4)
    full = ((queries[:, None].astype(np.float64) - reference[None]) ** 2).sum(-1)
    full[np.arange(3), np.arange(3)] = (
        np.inf
    )  # a query in the reference set is not its own neighbour
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :5])


def test_principal_angles_respect_ranks_and_differing_dimensions():
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((10, 4)))[0].T
    wide = q[None, :3]  # a 3-dimensional space containing the 2-dimensional one
    np.testing.assert_allclose(principal_angles_deg(q[None, :2], wide), [[0, 0]], atol=1e-6)
    zero_padded = np.concatenate([q[None, :1], np.zeros((1, 1, 10))], axis=1)  # rank 1 of 2 rows
    angles = principal_angles_deg(zero_padded, q[None, 1:3], rank_a=[1])
    np.testing.assert_allclose(angles[:, 0], 90, atol=1e-6)
    assert np.isnan(angles[0, 1])  # one angle for a rank-1 space
