"""Tangent spaces: Jacobians, orthonormal bases, fractions and the tangent.zarr store."""

import numpy as np
import pytest
import torch

from manifold_xai.models.vae import BurgessVAE
from manifold_xai.store import open_store
from manifold_xai.tangent.bases import (
    decoder_jacobian,
    fraction_in_tangent_space,
    orthonormal_basis,
    project,
    random_baseline,
)
from manifold_xai.tangent.basis_store import write_tangent_store


def linear_decoder(a: torch.Tensor, shape=(1, 8, 8)):
    return lambda z: (z @ a.T).reshape(-1, *shape)


def test_linear_decoder_tangent_space_is_its_column_space():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(64, 5, generator=g, dtype=torch.float64)
    z = torch.randn(3, 5, generator=g, dtype=torch.float64)
    jac = decoder_jacobian(linear_decoder(a), z)
    assert jac.shape == (3, 64, 5)
    torch.testing.assert_close(jac, a.expand(3, -1, -1))
    basis, s, rank = orthonormal_basis(jac)
    assert rank.tolist() == [5, 5, 5]
    for b in basis:
        torch.testing.assert_close(b @ b.T, torch.eye(5, dtype=torch.float64))  # orthonormal rows
        # projecting A's columns onto the basis leaves them unchanged: span(basis) = col(A)
        torch.testing.assert_close(b.T @ (b @ a), a)
    # and the singular values are those of A
    torch.testing.assert_close(s[0], torch.linalg.svdvals(a))


def test_rank_tolerance_drops_collapsed_directions():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(100, 4, generator=g, dtype=torch.float64)
    a[:, 3] = 1e-6 * a[:, 3]  # a collapsed latent: tiny but non-zero column
    basis, s, rank = orthonormal_basis(a.unsqueeze(0), rtol=1e-3)
    assert rank.item() == 3
    assert torch.count_nonzero(basis[0].abs().sum(1)).item() == 3  # rows past the rank are zero
    _, _, rank_loose = orthonormal_basis(a.unsqueeze(0), rtol=1e-9)
    assert rank_loose.item() == 4


def test_zero_jacobian_has_rank_zero():
    basis, _, rank = orthonormal_basis(torch.zeros(2, 50, 3))
    assert rank.tolist() == [0, 0]
    assert torch.all(basis == 0)


def test_batched_jacobian_equals_autograd_jacobian_for_burgess_decoder():
    vae = BurgessVAE(channels=1, image_size=32, latent_dim=6).double().eval()
    z = torch.randn(4, 6, dtype=torch.float64)
    ours = decoder_jacobian(vae.decode, z)
    for i in range(len(z)):
        ref = torch.autograd.functional.jacobian(
            lambda v: vae.decode(v.unsqueeze(0)).reshape(-1), z[i]
        )
        torch.testing.assert_close(ours[i], ref, rtol=1e-10, atol=1e-12)


def test_fraction_of_vectors_inside_and_orthogonal_to_the_tangent_space():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    basis = np.zeros((1, 4, 30))
    basis[0, :3] = q[:, :3].T  # rank 3, one zero row
    inside = q[:, :3] @ rng.standard_normal(3)
    outside = q[:, 3:] @ rng.standard_normal(27)
    mixed = q[:, 0] + q[:, 5]
    f = fraction_in_tangent_space(np.repeat(basis, 3, 0), np.stack([inside, outside, mixed]))
    np.testing.assert_allclose(f, [1.0, 0.0, np.sqrt(0.5)], atol=1e-12)
    tangent, orthogonal = project(basis, mixed[None])
    np.testing.assert_allclose(tangent[0], q[:, 0], atol=1e-12)
    np.testing.assert_allclose(orthogonal[0], q[:, 5], atol=1e-12)
    assert np.isnan(fraction_in_tangent_space(basis, np.zeros((1, 30))))[0]


def test_gaussian_vectors_give_fraction_close_to_sqrt_k_over_d():
    k, d, n = 10, 1024, 4000
    rng = np.random.default_rng(0)
    bases = np.stack([np.linalg.qr(rng.standard_normal((d, k)))[0].T for _ in range(20)])
    bases = np.repeat(bases, n // 20, axis=0)
    f = fraction_in_tangent_space(bases, rng.standard_normal((n, d)))
    # E[fraction] is slightly below sqrt(k/d) (Jensen); docs/paper.md §5 measured 0.0962 for 0.0988.
    assert f.mean() == pytest.approx(random_baseline(k, d), rel=0.04)
    assert f.mean() < random_baseline(k, d)
    assert 0.015 < f.std() < 0.03


def test_fraction_is_batched_over_leading_method_axis():
    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.standard_normal((50, 5)))[0].T[None].repeat(4, 0)
    vectors = rng.standard_normal((3, 4, 50))
    batched = fraction_in_tangent_space(basis, vectors)
    assert batched.shape == (3, 4)
    for m in range(3):
        np.testing.assert_allclose(batched[m], fraction_in_tangent_space(basis, vectors[m]))


def test_tangent_store_is_chunked_complete_and_matches_direct_computation(tmp_path):
    vae = BurgessVAE(channels=1, image_size=16, latent_dim=3).eval()
    latents = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
    path = tmp_path / "tangent.zarr"
    stats = write_tangent_store(
        path,
        vae.decode,
        latents,
        np.arange(100, 123),
        (1, 16, 16),
        device=torch.device("cpu"),
        batch_size=4,
        chunk_mb=8 * 3 * 256 * 4 / 2**20,
    )
    group = open_store(path, required=("basis", "rank", "singular_values", "sample_index"))
    assert group["basis"].shape == (23, 3, 256)
    assert group["basis"].chunks == (8, 3, 256)
    assert group.attrs["k"] == 3 and group.attrs["d"] == 256
    assert group["sample_index"][0] == 100
    with torch.no_grad():
        direct, _, rank = orthonormal_basis(decoder_jacobian(vae.decode, torch.from_numpy(latents)))
    np.testing.assert_allclose(group["basis"][...], direct.float().numpy(), atol=1e-6)
    assert stats["rank_counts"] == {
        int(r): int(c) for r, c in zip(*np.unique(rank.numpy(), return_counts=True), strict=True)
    }
    assert not list(tmp_path.glob(".*tmp*"))


def test_tangent_store_rejects_latent_dim_not_below_image_dim(tmp_path):
    with pytest.raises(ValueError, match="must be smaller than the image dimension"):
        write_tangent_store(
            tmp_path / "t.zarr",
            lambda z: z,
            np.zeros((2, 4), np.float32),
            np.arange(2),
            (1, 2, 2),
            device=torch.device("cpu"),
        )
    assert not (tmp_path / "t.zarr").exists()


def _deficient_jacobians(n=6, d=300, k=8, seed=0):
    """Jacobians with two collapsed directions (relative singular values 1e-7) and one dead latent."""
    g = torch.Generator().manual_seed(seed)
    u = torch.linalg.qr(torch.randn(n, d, k, generator=g, dtype=torch.float64))[0]
    v = torch.linalg.qr(torch.randn(n, k, k, generator=g, dtype=torch.float64))[0]
    s = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.1, 1e-7, 0.0], dtype=torch.float64)
    return (u * s) @ v.transpose(1, 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_qr_and_svd_orthonormalisation_span_the_same_space(dtype):
    jac = _deficient_jacobians().to(dtype)
    b_qr, s_qr, r_qr = orthonormal_basis(jac, 1e-3, method="qr")
    b_svd, s_svd, r_svd = orthonormal_basis(jac, 1e-3, method="svd")
    assert r_qr.tolist() == r_svd.tolist() == [6] * 6
    projector = lambda b: b.double().transpose(1, 2) @ b.double()  # noqa: E731
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(projector(b_qr), projector(b_svd), atol=tol, rtol=0)
    torch.testing.assert_close(s_qr, s_svd, atol=tol * 5, rtol=0)
    eye = torch.eye(6, dtype=torch.float64).expand(6, -1, -1)
    torch.testing.assert_close(
        b_qr[:, :6].double() @ b_qr[:, :6].double().transpose(1, 2), eye, atol=tol, rtol=0
    )


def test_original_rank_rule_reproduces_scipy_orth_on_float32():
    from scipy.linalg import orth

    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 1024, 10, generator=g)
    a[:, :, 9] *= torch.tensor([1e-2, 5e-4, 1e-5, 1e-7]).view(4, 1)  # around orth's 1.2e-4 cutoff
    _, _, rank = orthonormal_basis(a, rank_rule="scipy_orth_float32")
    expected = [orth(a[i].numpy()).shape[1] for i in range(4)]
    assert rank.tolist() == expected == [10, 10, 9, 9]
    _, _, ours = orthonormal_basis(a, rtol=1e-3)
    assert ours.tolist() == [10, 9, 9, 9]


def test_float16_storage_changes_fractions_only_slightly(tmp_path):
    vae = BurgessVAE(channels=1, image_size=16, latent_dim=4).eval()
    latents = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    vectors = np.random.default_rng(1).standard_normal((20, 256))
    fractions = {}
    for dtype in ("float32", "float16"):
        path = tmp_path / f"{dtype}.zarr"
        write_tangent_store(
            path,
            vae.decode,
            latents,
            np.arange(20),
            (1, 16, 16),
            device=torch.device("cpu"),
            storage_dtype=dtype,
        )
        basis = open_store(path)["basis"]
        assert basis.dtype == np.dtype(dtype)
        fractions[dtype] = fraction_in_tangent_space(basis[...], vectors)
    assert np.abs(fractions["float16"] - fractions["float32"]).max() < 2e-3


def test_matrix_free_store_keeps_latents_only(tmp_path):
    vae = BurgessVAE(channels=1, image_size=16, latent_dim=4).eval()
    latents = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    write_tangent_store(
        tmp_path / "t.zarr",
        vae.decode,
        latents,
        np.arange(5),
        (1, 16, 16),
        device=torch.device("cpu"),
        matrix_free=True,
    )
    group = open_store(tmp_path / "t.zarr", required=("latents", "sample_index"))
    assert "basis" not in group and group.attrs["projection"] == "matrix_free"
    np.testing.assert_array_equal(group["latents"][...], latents)


def test_a_rank_zero_basis_has_no_fraction():
    """An all-zero basis (rank 0) is an undefined tangent space: NaN, never a fraction of 0."""
    basis = np.zeros((2, 3, 8), np.float32)
    basis[1, 0, 0] = 1.0
    vectors = np.ones((2, 8), np.float32)
    fraction = fraction_in_tangent_space(basis, vectors)
    assert np.isnan(fraction[0]) and fraction[1] == pytest.approx(1 / np.sqrt(8))


def test_the_sample_axis_is_read_the_same_for_flat_and_image_vectors():
    from manifold_xai.tangent.space import sample_axis

    d = 1024
    assert sample_axis((3, 5, d), 5, d) == 1
    assert sample_axis((1, 1, d), 1, d) == 1  # one method, one sample, flat
    assert sample_axis((2, 1, 1, 32, 32), 1, d) == 1  # two methods, one one-channel image
    assert sample_axis((1, 1, 32, 32), 1, d) == 0
    assert sample_axis((5, 32, 32), 5, d) == 0  # images without a channel axis
    assert sample_axis((1, 32, 32), 1, d) is None  # a single image of a single sample
    assert sample_axis((d,), 1, d) is None
    with pytest.raises(ValueError, match="do not match 2 tangent spaces"):
        sample_axis((3, d), 2, d)
