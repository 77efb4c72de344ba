"""Models: shapes, the β-TCVAE objective and safe (weights-only) model files."""

import math

import pytest
import torch

from manifold_xai.models.classifiers import LeNet, SimpleNet, build_classifier
from manifold_xai.models.io import load_model, save_model
from manifold_xai.models.losses import btcvae_loss, stratified_log_weights
from manifold_xai.models.vae import BurgessVAE


def test_burgess_vae_shapes_and_sigmoid_output():
    vae = BurgessVAE(channels=1, image_size=32, latent_dim=10)
    x = torch.rand(5, 1, 32, 32)
    recon, mean, logvar, z = vae(x)
    assert recon.shape == x.shape and mean.shape == logvar.shape == z.shape == (5, 10)
    images = vae.decode(torch.randn(3, 10))
    assert images.shape == (3, 1, 32, 32) and images.min() > 0 and images.max() < 1
    vae.eval()
    torch.testing.assert_close(vae(x)[3], vae.encode(x))  # eval mode encodes to the mean


def test_stratified_weights_rows_sum_to_one_with_1_over_n_on_the_diagonal():
    w = stratified_log_weights(8, 1000).exp()
    torch.testing.assert_close(w.sum(1), torch.ones(8))
    torch.testing.assert_close(torch.diagonal(w), torch.full((8,), 1 / 1000))


def test_btcvae_loss_decomposes_and_reduces_to_kl_terms():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8).round()
    logits = torch.randn(16, 1, 8, 8)
    mean, logvar = torch.randn(16, 4), torch.randn(16, 4) * 0.1
    z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    loss, parts = btcvae_loss(
        logits, x, mean, logvar, z, 1000, alpha=1, beta=6, gamma=1, anneal=0.5
    )
    expected = parts["rec"] + parts["mi"] + 6 * parts["tc"] + 0.5 * parts["dw_kl"]
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 16
    assert parts["rec"] == pytest.approx(bce.item(), rel=1e-6)
    # With α = β = γ = 1 the three terms add up to the (minibatch-estimated) KL(q(z|x) || p(z)).
    assert all(math.isfinite(v) for v in parts.values())


def test_classifiers_give_logits():
    x = torch.rand(2, 1, 32, 32)
    assert LeNet()(x).shape == (2, 10)
    assert LeNet().head[1].in_features == 12544  # the MNIST example net at 32x32
    assert SimpleNet(width=0.25).eval()(x).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown classifier architecture"):
        build_classifier("resnet1000")


def test_model_files_round_trip_and_reject_other_architectures(tmp_path):
    net = LeNet(n_classes=3)
    save_model(tmp_path / "m.pt", "lenet", {"n_classes": 3}, net)
    loaded = load_model(tmp_path / "m.pt")
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(loaded(x), net.eval()(x))
    with pytest.raises(
        ValueError, match=r"holds a 'lenet' model, expected one of \['burgess_vae'\]"
    ):
        load_model(tmp_path / "m.pt", expect="burgess_vae")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable model file"):
        load_model(tmp_path / "bad.pt")


def test_model_file_with_pickled_objects_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    torch.save({"format": "manifold-xai/model/1", "evil": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable model file"):
        load_model(tmp_path / "evil.pt")
