"""Intrinsic dimension without a decoder: the ellipse family's exact tangents, the spectrum rules (with
and without a gap), FLIPD, the Levina-Bickel reference and the rows of intrinsic_dimension.csv."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr
from scipy.linalg import subspace_angles

from manifold_xai.data.torus import (
    PARAMETERS,
    TorusRenderer,
    check_parameters,
    render,
    render_jacobian,
    sample_params,
)
from manifold_xai.store import open_store
from manifold_xai.tangent.denoiser import denoiser_bases, denoiser_store, rederive_store
from manifold_xai.tangent.dimension import (
    ABOVE_MAX_K,
    ALL_ABOVE,
    DECIDED,
    NO_GAP,
    gap_rank,
    levina_bickel,
    read_dimension,
    rounded_rank,
    threshold_rank,
)
from manifold_xai.tangent.sources import DIMENSION_COLUMNS, dimension_rows

FAMILY = {
    1: ("orbit_angle",),
    2: ("orbit_angle", "spin"),
    3: ("orbit_angle", "spin", "scale"),
    5: ("orbit_angle", "spin", "scale", "aspect", "radius"),
}
SIDE, D = 8, 64


@pytest.mark.parametrize("m", sorted(FAMILY))
def test_each_family_members_jacobian_matches_finite_differences(m):
    parameters = FAMILY[m]
    params = torch.tensor(sample_params(4, seed=m, parameters=parameters), dtype=torch.float64)
    jac = render_jacobian(params, parameters=parameters)
    assert jac.shape == (4, 1024, m)
    eps = 1e-6
    for j in range(m):
        step = torch.zeros_like(params)
        step[:, j] = eps
        fd = (
            render(params + step, parameters=parameters)
            - render(params - step, parameters=parameters)
        ).reshape(4, -1) / (2 * eps)
        torch.testing.assert_close(jac[..., j], fd, rtol=1e-5, atol=1e-7)
        assert jac[..., j].norm(dim=1).min() > 0.1  # every parameter moves the image
    # the m directions are independent: the manifold has dimension m at every sampled point
    assert (torch.linalg.matrix_rank(jac, rtol=1e-6) == m).all()


def test_the_family_keeps_the_torus_and_samples_inside_the_ranges():
    torus = torch.tensor(sample_params(5, 0), dtype=torch.float64)
    # the default family member is the 2-torus, rendered as before the family existed
    np.testing.assert_array_equal(
        sample_params(5, 0), sample_params(5, 0, ("spin", "orbit_angle"))
    )  # order-free: parameters are kept in PARAMETERS order
    torch.testing.assert_close(render(torus), render(torus, parameters=("orbit_angle", "spin")))
    p = sample_params(2000, 3, FAMILY[5])
    for j, name in enumerate(FAMILY[5]):
        low, high, _ = PARAMETERS[name]
        assert low <= p[:, j].min() and p[:, j].max() <= high
    renderer = TorusRenderer(parameters=["orbit_angle", "scale"])
    assert renderer.latent_dim == 2 and renderer.constructor_kwargs()["parameters"] == [
        "orbit_angle",
        "scale",
    ]
    with pytest.raises(ValueError, match="must include orbit_angle"):
        check_parameters(["spin"])
    with pytest.raises(ValueError, match="unknown manifold parameter"):
        check_parameters(["orbit_angle", "colour"])


def test_the_rank_rules_on_spectra_with_and_without_a_gap():
    gap = np.array([[1.0, 0.97, 0.95, 0.02, 0.015, 0.01]])
    no_gap = np.array([[0.9, 0.8, 0.7, 0.6, 0.55, 0.52]])  # a smooth decay: no ratio reaches 2
    assert threshold_rank(gap)[0].tolist() == [3.0]
    assert gap_rank(gap)[0].tolist() == [3.0] and gap_rank(gap)[1].tolist() == [DECIDED]
    k, reason = gap_rank(no_gap)
    assert np.isnan(k[0]) and reason[0] == NO_GAP
    # every value above ½: the dimension is at least 6, so not 6; NaN and the reason, not the cap
    k, reason = threshold_rank(no_gap)
    assert np.isnan(k[0]) and reason[0] == ALL_ABOVE
    k, reason = rounded_rank(np.array([2.4, 2.6, 9.0, np.nan]), max_k=6)
    assert k[:2].tolist() == [2.0, 3.0] and np.isnan(k[2:]).all()
    assert reason.tolist() == [DECIDED, DECIDED, ABOVE_MAX_K, 4]
    with pytest.raises(ValueError, match="unknown intrinsic-dimension rule 'elbow'"):
        read_dimension("elbow", gap)


class LinearDenoiser(torch.nn.Module):
    """The optimal denoiser of zero-mean Gaussian data with covariance ``cov`` at noise level σ:
    ``D(y) = Σ (Σ + σ² I)⁻¹ y`` on ``(n, 1, 8, 8)`` images."""

    def __init__(self, cov: np.ndarray, sigma: float):
        super().__init__()
        self.gain_np = cov @ np.linalg.inv(cov + sigma**2 * np.eye(len(cov)))
        self.register_buffer("gain", torch.from_numpy(self.gain_np.astype(np.float32)))

    def forward(self, y, sigma=None):
        return (y.flatten(1) @ self.gain.T).reshape(y.shape)


def _subspace(m: int, spread: float = 1.0, seed: int = 0):
    u = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, m)))[0]
    return u, spread**2 * u @ u.T + 1e-6 * np.eye(D)


@pytest.mark.parametrize("rule", ["threshold", "gap", "flipd"])
def test_every_rule_finds_the_dimension_of_a_linear_subspace_exactly(rule):
    sigma, m = 0.05, 3
    u, cov = _subspace(m)
    net = LinearDenoiser(cov, sigma)
    # points on the subspace (the data): D(x) = x there up to σ²/(1 + σ²), so FLIPD ≈ tr J ≈ m
    points = (np.random.default_rng(1).standard_normal((5, m)) @ u.T).reshape(5, 1, SIDE, SIDE)
    out = denoiser_bases(
        lambda y: net(y, sigma),
        points.astype(np.float32),
        np.arange(5),
        max_k=8,
        sigma=sigma,
        rule=rule,
        oversample=4,
        trace_probes=16,
    )
    assert out["dimension"].tolist() == [3.0] * 5, out["dimension"]
    np.testing.assert_allclose(out["flipd"], np.trace(net.gain_np), atol=0.05)
    for i in range(5):
        assert np.degrees(subspace_angles(out["basis"][i, :3].T.astype(np.float64), u)).max() < 1


def test_the_flipd_trace_is_hutchpp_exact_on_the_found_subspace_and_unbiased_off_it():
    # A full-rank Jacobian: the top 4 directions on the subspace, a tail the probes must estimate.
    rng = np.random.default_rng(3)
    q = np.linalg.qr(rng.standard_normal((D, D)))[0]
    spectrum = np.r_[np.ones(4), np.full(D - 4, 0.05)]
    matrix = torch.from_numpy((q * spectrum) @ q.T)

    def fn(y):
        return (y.flatten(1).double() @ matrix.T).reshape(y.shape).to(y.dtype)

    images = np.zeros((20, 1, SIDE, SIDE), np.float32)  # residual 0: FLIPD = tr J
    out = denoiser_bases(
        fn, images, np.arange(20), max_k=4, sigma=0.1, rule="flipd", oversample=2, trace_probes=64
    )
    exact = spectrum.sum()  # 4 + 60 * 0.05 = 7
    assert abs(out["flipd"].mean() - exact) < 0.1
    assert out["flipd"].std() < 0.3  # the subspace part is exact; only the tail's 3 is estimated
    assert np.isnan(out["dimension"]).all()  # FLIPD 7 > max_k 4: no vectors to span it
    assert (out["dimension_reason"] == ABOVE_MAX_K).all() and not out["basis"].any()


def test_the_flipd_store_derives_from_the_denoiser_store(tmp_path):
    sigma = 0.05
    u, cov = _subspace(2)
    net = LinearDenoiser(cov, sigma)
    points = (np.random.default_rng(2).standard_normal((6, 2)) @ u.T).reshape(6, 1, SIDE, SIDE)
    index = np.arange(10, 16)
    den = tmp_path / "tangent_denoiser.zarr"
    metrics = denoiser_store(
        den,
        net,
        points.astype(np.float32),
        index,
        (1, SIDE, SIDE),
        sigma=sigma,
        max_k=5,
        rule="gap",
        oversample=3,
    )
    assert metrics["dimension_median"] == 2 and metrics["n_undecided"] == 0
    flipd = tmp_path / "tangent_flipd.zarr"
    rederive_store(den, flipd, rule="flipd", source="flipd", sample_index=index)
    store = open_store(flipd)
    assert store.attrs["tangent_source"] == "flipd" and store.attrs["k_rule"] == "flipd"
    np.testing.assert_array_equal(store["rank"][...], 2)
    np.testing.assert_array_equal(
        store["singular_vectors"][...], open_store(den)["singular_vectors"][...]
    )
    with pytest.raises(ValueError, match="other test images"):
        rederive_store(
            den, tmp_path / "x.zarr", rule="flipd", source="flipd", sample_index=index + 1
        )
    assert not (tmp_path / "x.zarr").exists()


def test_the_denoiser_mle_store_takes_the_denoisers_vectors_at_the_levina_bickel_k(tmp_path):
    """Source denoiser_mle: the denoiser store's vectors, k = the rounded Levina-Bickel estimate per
    image, NaN with its reason where the estimate rounds above max_k."""
    sigma = 0.05
    u, cov = _subspace(2)
    points = (np.random.default_rng(5).standard_normal((3, 2)) @ u.T).reshape(3, 1, SIDE, SIDE)
    index = np.arange(3)
    den = tmp_path / "tangent_denoiser.zarr"
    denoiser_store(
        den,
        LinearDenoiser(cov, sigma),
        points.astype(np.float32),
        index,
        (1, SIDE, SIDE),
        sigma=sigma,
        max_k=5,
        oversample=3,
    )
    out = tmp_path / "tangent_denoiser_mle.zarr"
    metrics = rederive_store(
        den,
        out,
        rule="levina_bickel",
        source="denoiser_mle",
        sample_index=index,
        estimate=np.array([2.2, 3.6, 7.0]),
    )
    store = open_store(out)
    np.testing.assert_array_equal(store["rank"][...], [2, 4, 0])
    assert np.isnan(store["dimension"][2]) and store["dimension_reason"][2] == ABOVE_MAX_K
    vectors = open_store(den)["singular_vectors"][...]
    np.testing.assert_array_equal(store["basis"][1, :4], vectors[1, :4])
    assert not store["basis"][1, 4:].any() and not store["basis"][2].any()
    assert store.attrs["k_rule"] == "levina_bickel" and metrics["n_undecided"] == 1


def test_levina_bickel_estimates_the_dimension_of_a_linear_subspace():
    rng = np.random.default_rng(4)
    u = np.linalg.qr(rng.standard_normal((D, 3)))[0]
    reference = rng.uniform(-1, 1, (4000, 3)) @ u.T
    queries = rng.uniform(-0.5, 0.5, (50, 3)) @ u.T
    estimate = levina_bickel(queries, reference, neighbours=20)
    assert estimate.shape == (50,)
    assert abs(np.median(estimate) - 3) < 0.4
    # a query that is itself a reference point skips its zero distance
    assert np.isfinite(levina_bickel(reference[:5], reference, neighbours=20)).all()
    with pytest.raises(ValueError, match="needs more than 20 reference points"):
        levina_bickel(queries, reference[:20], neighbours=20)


def test_the_dimension_table_counts_exact_within_one_and_undecided():
    truth = np.full(4, 2)
    ds = xr.Dataset(
        {
            "angle": (("source", "sample", "angle_index"), np.full((1, 4, 2), 10.0)),
            "angle_at_reference_k": (("source", "sample"), np.array([[5.0, 15.0, np.nan, 10.0]])),
            "rank": (("source", "sample"), np.array([[2, 3, 0, 5]])),
            "dimension": (("source", "sample"), np.array([[2.0, 3.0, np.nan, 5.0]])),
            "dimension_reason": (("source", "sample"), np.array([[0, 0, NO_GAP, 0]], np.int8)),
            "reference_rank": (("sample",), truth),
            "mle": (("sample",), np.array([1.8, 2.2, 2.6, 3.7])),
        },
        coords={"source": ["denoiser"], "sample": np.arange(4)},
        attrs={
            "reference": "exact",
            "reference_k": 2,
            "k": [12],
            "dimension_rule": ["spectrum, gap"],
            "reference_dimension_rule": "fixed k",
        },
    )
    rows = dimension_rows(ds, dataset="torus", seed=0, mle_neighbours=20)
    assert list(rows[0]) == DIMENSION_COLUMNS
    by = {r["source"]: r for r in rows}
    assert list(by) == ["exact", "denoiser", "levina_bickel"]
    den = by["denoiser"]
    assert den["true_dimension"] == 2 and den["n"] == 4 and den["n_decided"] == 3
    assert den["share_exact"] == 0.25 and den["share_within_1"] == 0.5  # undecided counts as wrong
    assert den["dimension_median"] == 3 and den["angle_at_true_k_deg"] == 10
    assert "no spectral gap" in den["undecided_reasons"] and ": 1" in den["undecided_reasons"]
    mle = by["levina_bickel"]
    assert mle["share_exact"] == 0.5 and mle["share_within_1"] == 0.75
    assert math.isnan(mle["angle_at_true_k_deg"])
