"""The matrix-free tangent space (Gram matrix from JVPs/VJPs) keeps the dense path's subspace: same rank,
fractions within 1e-4, on a gapped and on a gapless (log-spread) spectrum; undefined samples are NaN."""

import numpy as np
import pytest
import torch

from manifold_xai.models.autoencoder import ConvAutoEncoder
from manifold_xai.tangent.bases import decoder_jacobian, orthonormal_basis
from manifold_xai.tangent.matrix_free import factor_gram, factor_jacobian, gram_matrix
from manifold_xai.tangent.space import BasisTangentSpace, MatrixFreeTangentSpace


def linear_decoder(singular_values: np.ndarray, d: int, seed: int = 0):
    """``D(z) = U diag(s) Vᵀ z`` with random orthonormal ``U (d, k)``, ``V (k, k)``: a decoder whose
    Jacobian has exactly the given singular values; returns ``(decode, U)``."""
    rng = np.random.default_rng(seed)
    k = len(singular_values)
    u, _ = np.linalg.qr(rng.standard_normal((d, k)))
    v, _ = np.linalg.qr(rng.standard_normal((k, k)))
    a = torch.from_numpy(u * singular_values @ v.T)

    def decode(z):
        return (z @ a.T).reshape(-1, 1, d)

    return decode, u


def dense_and_matrix_free(decode, k: int, d: int, vectors: np.ndarray, rtol: float = 1e-3):
    z = torch.zeros(1, k, dtype=torch.float64)
    basis, _, rank = orthonormal_basis(decoder_jacobian(decode, z), rtol=rtol)
    dense = BasisTangentSpace(basis.numpy(), rank.numpy())
    free = MatrixFreeTangentSpace(decode, z.numpy(), d, rtol=rtol, dtype="float64")
    return dense, free


@pytest.mark.parametrize("spectrum", ["log_spread", "gapped", "log_spread_scaled"])
def test_matrix_free_equals_dense_on_gapped_and_gapless_spectra(spectrum):
    """The issue's case: d = 4000, k = 400, singular values spread log-uniformly from 1 to 1e-6 (no gap:
    the cut-off 1e-3 falls among them), and a spectrum with a wide gap at the same cut-off."""
    d, k = 4000, 400
    if spectrum.startswith(
        "log_spread"
    ):  # scaled: s_max = 50, so the cut-off is relative, not 1e-3
        s = np.logspace(0, -6, k) * (50.0 if spectrum.endswith("scaled") else 1.0)
    else:
        s = np.concatenate([np.linspace(1, 0.1, 250), np.full(k - 250, 1e-9)])
    decode, u = linear_decoder(s, d)
    vectors = np.random.default_rng(1).standard_normal((5, 1, d))
    dense, free = dense_and_matrix_free(decode, k, d, vectors)
    expected_rank = int((s > 1e-3 * s[0]).sum())
    assert dense.rank()[0] == free.rank()[0] == expected_rank
    np.testing.assert_allclose(free.fractions(vectors), dense.fractions(vectors), atol=1e-4)
    # the independent reference: the fraction in the span of the first `rank` columns of U
    kept = u[:, :expected_rank]
    reference = np.linalg.norm(vectors[:, 0] @ kept, axis=1) / np.linalg.norm(vectors[:, 0], axis=1)
    np.testing.assert_allclose(free.fractions(vectors)[:, 0], reference, atol=1e-8)
    np.testing.assert_allclose(free.project(vectors), dense.project(vectors), atol=1e-6)
    if spectrum.startswith(
        "log_spread"
    ):  # without the cut-off (all 400 directions) the answer is far off
        assert abs(reference.mean() - np.sqrt(k / d)) > 0.05


def test_full_rank_takes_the_cholesky_certificate_and_equals_least_squares():
    d, k = 300, 20
    s = np.linspace(1, 0.01, k)  # all above the cut-off
    decode, u = linear_decoder(s, d)
    z = torch.zeros(k, dtype=torch.float64)
    factor = factor_jacobian(decode, z, rtol=1e-3)
    assert factor.method == "cholesky" and factor.rank == k and factor.converged
    e = np.random.default_rng(0).standard_normal((3, d))
    np.testing.assert_allclose(factor.project(e), e @ u @ u.T, atol=1e-10)


def test_eigenvalue_just_below_the_cut_off_is_dropped():
    """A direction at 0.99 · rtol · s_max must be cut (Cholesky fails, eigh route) and one at 1.01 kept."""
    for below, expected in ((0.99e-3, 4), (1.01e-3, 5)):
        gram = np.diag(np.array([1.0, 0.5, 0.2, 0.1, below]) ** 2)
        rank, converged, sv, method, _ = factor_gram(gram, rtol=1e-3)
        assert (rank, converged) == (expected, True)
        assert method == ("eigh" if expected == 4 else "cholesky")


def test_gram_matrix_from_jvps_and_vjps_equals_jtj():
    decode, _ = linear_decoder(np.array([3.0, 2.0, 1.0]), 10)
    a = decoder_jacobian(decode, torch.zeros(1, 3, dtype=torch.float64))[0].numpy()

    def jvp(v):
        return v @ a.T

    def vjp(w):
        return w @ a

    np.testing.assert_allclose(gram_matrix(jvp, vjp, 3, block_size=2), a.T @ a, atol=1e-12)


def test_matrix_free_equals_dense_basis_for_a_small_conv_autoencoder():
    torch.manual_seed(0)
    ae = (
        ConvAutoEncoder(channels=3, image_size=(32, 32), stride=8).eval().double()
    )  # k = 128, d = 3072
    for p in ae.parameters():
        p.requires_grad_(False)
    z = ae.encode(torch.rand(1, 3, 32, 32, dtype=torch.float64))
    vectors = np.random.default_rng(0).standard_normal((4, 1, 3, 32, 32))
    with torch.no_grad():
        basis, _, rank = orthonormal_basis(decoder_jacobian(ae.decode, z), method="svd")
    dense = BasisTangentSpace(basis.numpy(), rank.numpy())
    free = MatrixFreeTangentSpace(ae.decode, z.numpy(), 3072, rtol=1e-3)
    assert 0 < rank.item() <= 128 and free.rank()[0] == rank.item()
    np.testing.assert_allclose(free.fractions(vectors), dense.fractions(vectors), atol=1e-4)


def test_rank_zero_and_unconverged_samples_are_nan_and_counted():
    d = 6
    dead = torch.zeros(d, 2, dtype=torch.float64)

    def decode(z):  # rank 0 at the first latent (a ReLU off everywhere), non-finite at the third
        out = torch.relu(z[:, :1]) * torch.ones(1, d, dtype=z.dtype) + z @ dead.T
        return (out * torch.where(z[:, 1:] > 5, torch.inf, 1.0)).reshape(-1, 1, d)

    latents = np.array([[-1.0, 0.0], [1.0, 0.0], [1.0, 9.0]])
    free = MatrixFreeTangentSpace(decode, latents, d, rtol=1e-3)
    vectors = np.random.default_rng(0).standard_normal((2, 3, d))
    fractions = free.fractions(vectors)
    assert np.isnan(fractions[:, 0]).all() and np.isfinite(fractions[:, 1]).all()
    assert np.isnan(fractions[:, 2]).all()
    assert free.rank().tolist()[:2] == [0, 1] and free.converged().tolist() == [True, True, False]
    assert free.defined().tolist() == [False, True, False]
    basis = np.zeros((2, 1, d))
    basis[1, 0, 0] = 1.0
    stored = BasisTangentSpace(basis, [0, 1])
    f = stored.fractions(vectors[:, :2])
    assert np.isnan(f[:, 0]).all() and np.isfinite(f[:, 1]).all()


def test_zero_vector_has_no_fraction():
    basis = np.eye(4)[None, :2]
    assert np.isnan(BasisTangentSpace(basis, [2]).fractions(np.zeros((1, 1, 4))))[0, 0]
