"""Matrix-free projection (LSQR on JVPs/VJPs) equals the dense-basis path on small problems."""

import numpy as np
import pytest
import torch

from manifold_xai.matrix_free import decoder_operator, largest_singular_value, project_matrix_free
from manifold_xai.models.autoencoder import ConvAutoEncoder
from manifold_xai.tangent import (
    decoder_jacobian,
    fraction_in_tangent_space,
    orthonormal_basis,
    project,
)


def test_matrix_free_equals_dense_basis_for_a_rank_deficient_linear_decoder():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 12, generator=g, dtype=torch.float64)
    a[:, 10:] = 0  # two dead latent directions
    decode = lambda z: (z @ a.T).reshape(-1, 1, 10, 20)  # noqa: E731
    z = torch.zeros(12, dtype=torch.float64)
    vectors = np.random.default_rng(0).standard_normal((3, 200))
    vectors[2] = (a[:, 0] + 0.5 * a[:, 3]).numpy()  # inside the tangent space
    mf = project_matrix_free(decode, z, vectors, atol=1e-12)
    basis, _, rank = orthonormal_basis(decoder_jacobian(decode, z.unsqueeze(0)))
    assert rank.item() == 10
    dense = fraction_in_tangent_space(basis.numpy().repeat(3, 0), vectors)
    np.testing.assert_allclose(mf.fraction, dense, atol=1e-10)
    tangent, _ = project(basis.numpy().repeat(3, 0), vectors)
    np.testing.assert_allclose(mf.tangent, tangent, atol=1e-9)
    assert mf.fraction[2] == pytest.approx(1.0, abs=1e-12) and mf.converged.all()


def test_matrix_free_equals_dense_basis_for_a_small_conv_autoencoder():
    torch.manual_seed(0)
    ae = ConvAutoEncoder(
        channels=3, image_size=(32, 32), stride=8
    ).eval()  # k = 8·4·4 = 128, d = 3072
    for p in ae.parameters():
        p.requires_grad_(False)
    z = ae.encode(torch.rand(1, 3, 32, 32))[0]
    vectors = np.random.default_rng(0).standard_normal((4, 3072))
    mf = project_matrix_free(ae.decode, z, vectors)
    with torch.no_grad():
        basis, s, rank = orthonormal_basis(
            decoder_jacobian(ae.decode, z.unsqueeze(0)), method="svd"
        )
    dense = fraction_in_tangent_space(basis.numpy().repeat(4, 0), vectors)
    assert 0 < rank.item() <= 128
    np.testing.assert_allclose(mf.fraction, dense, atol=1e-5)
    s_max = largest_singular_value(decoder_operator(ae.decode, z))
    assert s_max == pytest.approx(s[0, 0].item(), rel=1e-3)


def test_zero_vector_has_no_fraction():
    decode = lambda z: torch.cat([z, z]).reshape(1, 1, 2, 2)  # noqa: E731
    mf = project_matrix_free(lambda z: decode(z[0]), torch.ones(2), np.zeros((1, 4)))
    assert np.isnan(mf.fraction[0])
