"""The decoder-free tangent source: a denoiser's Jacobian, its matrix-free singular vectors and the
per-image intrinsic dimension read from them (manifold_xai.tangent.denoiser), its training
(manifold_xai.training.denoising) and its claims row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch
from rule_harness import run_rule
from scipy.linalg import subspace_angles

from manifold_xai.evaluation.claims import claims_for
from manifold_xai.models.denoiser import Denoiser
from manifold_xai.tangent.denoiser import (
    denoiser_bases,
    denoiser_store,
    jacobian_singular,
)
from manifold_xai.tangent.dimension import read_dimension
from manifold_xai.tangent.space import open_tangent_space

SIDE = 8
D = SIDE * SIDE


class LinearDenoiser(torch.nn.Module):
    """The optimal (posterior-mean) denoiser of zero-mean Gaussian data with covariance ``cov`` at
    noise level ``sigma``: ``D(y) = Σ (Σ + σ² I)⁻¹ y``, applied to ``(n, 1, 8, 8)`` images."""

    def __init__(self, cov: np.ndarray, sigma: float):
        super().__init__()
        gain = cov @ np.linalg.inv(cov + sigma**2 * np.eye(len(cov)))
        self.register_buffer("gain", torch.from_numpy(gain.astype(np.float32)))

    def forward(self, y, sigma=None):
        return (y.flatten(1) @ self.gain.T).reshape(y.shape)


def _linear_gaussian(spreads, noise=0.01, seed=0):
    """A k-dimensional subspace ``U (d, k)`` of R^64 with data standard deviations ``spreads`` along it
    and ``noise`` in every direction: covariance ``U diag(spreads²) Uᵀ + noise² I``."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((D, len(spreads))))[0]
    return u, u @ np.diag(np.square(spreads)) @ u.T + noise**2 * np.eye(D)


def _images(n, seed=1):
    return np.random.default_rng(seed).random((n, 1, SIDE, SIDE)).astype(np.float32)


def test_the_optimal_denoiser_of_linear_gaussian_data_gives_the_subspace_and_its_dimension():
    # Three directions spread more than the noise level σ = 0.1 (the weakest, 0.2, only by a factor 2:
    # its gain is 0.8); a fourth spreads less (0.05: gain 0.2) and is not part of the manifold.
    spreads, sigma = [1.0, 0.5, 0.2], 0.1
    u, cov = _linear_gaussian(spreads)
    u_weak = np.linalg.qr(np.random.default_rng(5).standard_normal((D, 1)))[0]
    u_weak -= u @ (u.T @ u_weak)
    u_weak /= np.linalg.norm(u_weak)
    cov = cov + 0.05**2 * u_weak @ u_weak.T
    denoiser = LinearDenoiser(cov, sigma)
    out = denoiser_bases(
        lambda y: denoiser(y, sigma), _images(5), np.arange(5), max_k=8, oversample=4
    )
    basis, values, rank = out["basis"], out["singular_values"], out["rank"]
    assert (rank == 3).all(), rank
    assert values[0, 2] > 0.5 > values[0, 3]
    for i in range(5):
        angles = np.degrees(subspace_angles(basis[i, :3].T.astype(np.float64), u))
        assert angles.max() < 1.0, angles
        assert not basis[i, 3:].any()  # zero past the rank, as every tangent store
    # the gap rule counts the weak direction too: its gain 0.2 is far above the noise floor's 0.01, and
    # that is the largest ratio; the threshold rule is the one that compares the spread with σ
    assert (read_dimension("gap", values)[0] == 4).all()


def test_the_randomised_solver_agrees_with_a_dense_decomposition():
    torch.manual_seed(0)
    net = Denoiser(1, SIDE, width=4)
    sigma = 0.1

    def fn(y):
        return net(y, sigma)

    x = torch.from_numpy(_images(3))
    # width = max_k + oversample = d: the subspace iteration spans the whole space, so it is exact
    u, s = jacobian_singular(fn, x, np.arange(3), max_k=6, oversample=D - 6, power_iterations=0)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: fn(v[None]).flatten(), x[i])
        dense_u, dense_s, _ = np.linalg.svd(jac.reshape(D, D).double().numpy())
        np.testing.assert_allclose(s[i], dense_s[:6], rtol=1e-5, atol=1e-6)
        gaps = dense_s[:6] / dense_s[1:7]
        for j in range(6):  # singular vectors agree up to sign where their value is separated
            if gaps[j] > 1.01 and (j == 0 or dense_s[j - 1] / dense_s[j] > 1.01):
                assert abs(abs(u[i, j] @ dense_u[:, j]) - 1) < 1e-4


def test_the_practical_solver_settings_find_a_decaying_spectrum():
    # A Jacobian with a decaying spectrum (as a denoiser's is): 4 power iterations over 8 + 4 vectors
    # recover its top 8 singular values and vectors from JVPs and VJPs alone.
    rng = np.random.default_rng(2)
    left = np.linalg.qr(rng.standard_normal((D, D)))[0]
    right = np.linalg.qr(rng.standard_normal((D, D)))[0]
    spectrum = 0.7 ** np.arange(D)
    matrix = torch.from_numpy((left * spectrum) @ right.T)

    def fn(y):
        return (y.flatten(1).double() @ matrix.T).reshape(y.shape).to(y.dtype)

    u, s = jacobian_singular(
        fn, torch.from_numpy(_images(2)), np.arange(2), max_k=8, oversample=4, power_iterations=4
    )
    np.testing.assert_allclose(s, np.broadcast_to(spectrum[:8], (2, 8)), rtol=1e-3)
    angles = np.degrees(subspace_angles(u[0, :5].T, left[:, :5]))
    assert angles.max() < 0.5, angles


def test_an_images_result_does_not_depend_on_its_batch():
    torch.manual_seed(1)
    net = Denoiser(1, SIDE, width=4)
    images = _images(4)
    options = {"max_k": 4, "oversample": 4}
    together = denoiser_bases(lambda y: net(y, 0.1), images, np.arange(10, 14), **options)
    alone = denoiser_bases(lambda y: net(y, 0.1), images[2:3], np.arange(12, 13), **options)
    np.testing.assert_allclose(
        together["singular_values"][2], alone["singular_values"][0], rtol=1e-5
    )
    np.testing.assert_allclose(np.abs(together["basis"][2]), np.abs(alone["basis"][0]), atol=1e-5)
    np.testing.assert_allclose(together["flipd"][2], alone["flipd"][0], rtol=1e-5)


def test_intrinsic_dimension_rules():
    spectrum = np.array([[1.0, 0.95, 0.9, 0.3, 0.2, 0.1], [0.9, 0.8, 0.7, 0.6, 0.55, 0.52]])
    k, _ = read_dimension("threshold", spectrum)
    assert k[0] == 3 and np.isnan(k[1])  # all six above ½: at least 6, not 6
    assert read_dimension("threshold", spectrum, threshold=0.75)[0].tolist() == [3, 2]
    assert read_dimension("gap", spectrum, min_ratio=2.0)[0][0] == 3


def test_the_denoiser_store_is_a_tangent_store(tmp_path):
    spreads, sigma = [1.0, 0.6], 0.1
    u, cov = _linear_gaussian(spreads)
    images = _images(6)
    metrics = denoiser_store(
        tmp_path / "tangent_denoiser.zarr",
        LinearDenoiser(cov, sigma),
        images,
        np.arange(6),
        (1, SIDE, SIDE),
        sigma=sigma,
        max_k=5,
        images_per_batch=4,
    )
    assert metrics["dimension_median"] == 2 and metrics["n_undecided"] == 0
    space = open_tangent_space(tmp_path / "tangent_denoiser.zarr")
    assert space.k == 5 and (space.rank() == 2).all()
    inside = (u @ np.random.default_rng(0).standard_normal((2, 6))).T.astype(np.float32)
    np.testing.assert_allclose(space.fractions(inside), 1.0, atol=1e-4)
    outside = np.random.default_rng(1).standard_normal((6, D)).astype(np.float32)
    outside -= (outside @ u) @ u.T
    assert space.fractions(outside).max() < 0.02


def test_training_lowers_the_denoisers_held_out_error(tmp_path):
    """The real rule on the tiny config's digits (its ``source:``, prepared by the real rule): the
    held-out error after training is below the untrained network's, and the saved model reloads."""
    import yaml

    from conftest import REPO
    from manifold_xai.models.io import load_model

    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    data = tmp_path / "source.zarr"
    status, stderr = run_rule(
        "prepare_source",
        input={},
        output={"store": data},
        params={"source": {**tiny["datasets"]["digits"]["source"], "test_fraction": 0.2}},
        wildcards={"dataset": "digits"},
        log=tmp_path / "source.log",
    )
    assert status == 0, stderr[-2000:]
    out = tmp_path / "denoiser"
    status, stderr = run_rule(
        "train_denoiser",
        input={"data": data, "data_prov": f"{data}.prov.json"},
        output={"model": out / "model.pt", "metrics": out / "metrics.json"},
        params={
            "denoiser": {
                "width": 8,
                "epochs": 3,
                "lr": 0.002,
                "batch_size": 32,
                "sigma_min": 0.02,
                "sigma_max": 0.8,
            },
            "n_test": 20,
            "device": "cpu",
        },
        wildcards={"dataset": "digits", "seed": "0"},
        log=tmp_path / "train.log",
    )
    assert status == 0, stderr[-2000:]
    history = json.loads((out / "metrics.json").read_text())["history"]
    errors = [h["heldout_error"] for h in history]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert errors[-1] < 0.5 * errors[0], errors
    model = load_model(out / "model.pt", expect="denoiser")
    assert isinstance(model, Denoiser) and model.width == 8


def _fractions(orderings):
    """A ``tangent_fractions.csv`` with, per seed, the methods' means under the own source (vae) and a
    second source (denoiser) in the given order."""
    rows = []
    for seed, (own, other) in enumerate(orderings):
        for source, order in (("vae", own), ("denoiser", other)):
            for rank, method in enumerate(order):
                rows.append(
                    {
                        "dataset": "digits",
                        "seed": seed,
                        "regime": "standard",
                        "source": source,
                        "method": method,
                        "mean": 0.9 - 0.1 * rank,
                        "own_source": "vae",
                    }
                )
    return pd.DataFrame(rows)


def test_the_ordering_claim_follows_the_orderings_both_ways():
    same = ["input_x_gradient", "integrated_gradients", "gradient", "smoothgrad"]
    swapped = ["integrated_gradients", "input_x_gradient", "gradient", "smoothgrad"]
    (holds,) = claims_for({"tangent_fractions": _fractions([(same, same), (same, same)])})
    assert holds["verdict"] == "holds" and holds["value"] == 1.0
    assert "denoiser" in holds["claim"] and holds["dataset"] == "digits"
    (fails,) = claims_for({"tangent_fractions": _fractions([(same, swapped), (same, swapped)])})
    assert fails["verdict"] == "fails" and fails["value"] < 1
    (mixed,) = claims_for({"tangent_fractions": _fractions([(same, same), (same, swapped)])})
    assert mixed["verdict"] == "inconclusive"
