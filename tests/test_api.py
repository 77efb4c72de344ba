"""The public Python API (manifold_xai.api, docs/api.md) and the metric classes built on it."""

import numpy as np
import pytest
import torch
import zarr

import manifold_xai as mx
from manifold_xai.models.classifiers import LeNet
from manifold_xai.models.vae import BurgessVAE
from manifold_xai.tangent.geometry import local_pca_tangents


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return BurgessVAE(channels=1, image_size=32, latent_dim=3)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return LeNet(channels=1, image_size=32, n_classes=10)


@pytest.fixture(scope="module")
def images(vae):
    latents = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        return vae.eval().decode(latents).numpy(), latents.numpy()


def test_package_exports_the_api():
    for name in mx.__all__:
        assert callable(getattr(mx, name)), name
    with pytest.raises(AttributeError):
        mx.no_such_function  # noqa: B018


def test_explain_takes_tensors_uses_defaults_and_leaves_the_model_as_it_was(model, images):
    x = torch.from_numpy(images[0])
    model.train()
    model.features[0].weight.requires_grad_(True)
    flags = [p.requires_grad for p in model.parameters()]
    maps = mx.explain(model, x, "integrated_gradients")  # steps and quadrature by default
    assert maps.shape == x.shape and maps.dtype == np.float32
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    # the same maps from an array, with the defaults spelled out, and in eval mode (restored after)
    spelled = mx.explain(model, images[0], "integrated_gradients", steps=50, method="gausslegendre")
    np.testing.assert_array_equal(maps, spelled)
    assert not np.array_equal(maps, mx.explain(model, x, "integrated_gradients", steps=4))


def test_explain_by_captum_class_function_and_block(model, images):
    x = images[0][:3]
    gradient = mx.explain(model, x, "gradient")
    np.testing.assert_allclose(mx.explain(model, x, "Saliency", abs=False), gradient, atol=1e-7)

    def twice_the_gradient(m, inputs, target, params):
        (grad,) = torch.autograd.grad(m(inputs).gather(1, target[:, None]).sum(), inputs)
        return params["factor"] * grad

    np.testing.assert_allclose(
        mx.explain(model, x, twice_the_gradient, factor=2.0), 2 * gradient, rtol=1e-5, atol=1e-7
    )
    block = {"captum": "InputXGradient"}
    np.testing.assert_allclose(mx.explain(model, x, block), x * gradient, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="unknown method 'gradients'"):
        mx.explain(model, x, "gradients")


def test_from_decoder_dense_and_matrix_free_are_the_same_subspace(vae, images):
    x, latents = images
    dense = mx.from_decoder(vae, torch.from_numpy(latents))
    free = mx.from_decoder(vae, latents, matrix_free=True)
    assert (dense.n, dense.k, dense.d) == (6, 3, 1024) and vae.training is False
    vectors = np.random.default_rng(0).standard_normal((2, 6, 1, 32, 32))
    np.testing.assert_allclose(mx.fractions(dense, vectors), mx.fractions(free, vectors), atol=1e-5)
    tangent, orthogonal = mx.decompose(dense, vectors)
    assert tangent.shape == vectors.shape
    np.testing.assert_allclose(tangent + orthogonal, vectors)
    np.testing.assert_allclose(mx.fractions(dense, tangent), 1.0, atol=1e-5)
    np.testing.assert_allclose(mx.fractions(dense, orthogonal), 0.0, atol=1e-3)


def test_from_basis_orthonormalises_a_spanning_set_and_takes_one_sample(vae, images):
    dense = mx.from_decoder(vae, images[1])
    bases = dense.bases()
    mixing = np.random.default_rng(1).standard_normal((6, 3, 3))
    spanning = mx.from_basis(np.einsum("nij,njd->nid", mixing, bases).reshape(6, 3, 1, 32, 32))
    vectors = np.random.default_rng(2).standard_normal((6, 1024))
    np.testing.assert_allclose(
        mx.fractions(spanning, vectors), mx.fractions(dense, vectors), atol=1e-5
    )
    one = mx.from_basis(bases[0])  # (k, d): a single tangent space
    assert one.n == 1
    assert mx.fractions(one, vectors[0]) == pytest.approx(mx.fractions(dense, vectors)[0], abs=1e-6)
    with pytest.raises(ValueError, match="do not match 1 tangent spaces"):
        mx.fractions(one, vectors[0, :100])


def test_from_local_pca_is_the_pipelines_source(images):
    rng = np.random.default_rng(3)
    reference = rng.random((50, 1, 8, 8)).astype(np.float32)
    queries = rng.random((4, 1, 8, 8)).astype(np.float32)
    space = mx.from_local_pca(queries, reference, k=3, neighbours=10)
    basis, _ = local_pca_tangents(queries.reshape(4, -1), reference.reshape(50, -1), 3, 10)
    np.testing.assert_array_equal(space.bases(), basis)
    assert list(space.rank()) == [3, 3, 3, 3]


def test_fractions_stream_over_samples_and_read_zarr_blocks(tmp_path, vae, images):
    space = mx.from_decoder(vae, images[1])
    vectors = np.random.default_rng(4).standard_normal((2, 6, 1, 32, 32)).astype(np.float32)
    whole = mx.fractions(space, torch.from_numpy(vectors), batch_size=256)
    stored = zarr.create_array(
        tmp_path / "v.zarr", shape=vectors.shape, dtype="float32", chunks=(2, 1, 1, 32, 32)
    )
    stored[...] = vectors
    np.testing.assert_allclose(mx.fractions(space, stored, batch_size=4), whole, rtol=1e-12)
    np.testing.assert_allclose(mx.fractions(space, vectors[:, 2:4], samples=[2, 3]), whole[:, 2:4])
    vectors[1, 5] = 0  # a zero attribution has no direction
    assert np.isnan(mx.fractions(space, vectors, batch_size=5)[1, 5])


def test_random_fractions_sit_at_the_baseline(vae, images):
    space = mx.from_decoder(vae, images[1])
    measured = mx.random_fractions(space, seed=5)
    assert mx.random_baseline(space) == pytest.approx(np.sqrt(3 / 1024))
    assert abs(measured.mean() - mx.random_baseline(space)) < 0.03
    np.testing.assert_array_equal(measured[2:4], mx.random_fractions(space, [2, 3], seed=5))


def test_captum_style_metric_finds_each_inputs_tangent_space_by_content(vae, model, images):
    x, latents = images
    space = mx.from_decoder(vae, latents)
    metric = mx.TangentFraction(space, x)
    maps = mx.explain(model, x, "gradient")
    order = [4, 1, 3]
    scores = metric(torch.from_numpy(x[order]), torch.from_numpy(maps[order]))
    assert scores.dtype == torch.float64
    np.testing.assert_allclose(scores.numpy(), mx.fractions(space, maps)[order], rtol=1e-12)
    with pytest.raises(KeyError, match="input 0 is none of the 6 images"):
        metric(x[:1] + 1, maps[:1])


def test_quantus_evaluate_and_a_metric_call_give_the_apis_scores(vae, model, images):
    quantus = pytest.importorskip("quantus")
    from manifold_xai.quantus_metric import TangentAlignment

    x, latents = images
    space = mx.from_decoder(vae, latents)
    y = np.arange(6) % 10
    maps = mx.explain(model, x, "gradient", targets=y)
    expected = mx.fractions(space, maps)
    metric = TangentAlignment(space, x)
    called = metric(model=model, x_batch=x, y_batch=y, a_batch=maps, batch_size=4)
    np.testing.assert_allclose(called, expected, rtol=1e-12)
    results = quantus.evaluate(
        metrics={"tangent": TangentAlignment(space, x)},
        xai_methods={"Gradient": maps},
        model=model,
        x_batch=x,
        y_batch=y,
    )
    np.testing.assert_allclose(results["Gradient"]["tangent"], expected, rtol=1e-12)


def test_the_docs_examples_run(tmp_path):
    import subprocess
    import sys

    from conftest import REPO, code_blocks

    blocks = code_blocks(REPO / "docs" / "api.md", "python")
    assert len(blocks) == 2
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("IG: ")
