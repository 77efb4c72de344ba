"""Alignment with Dask over Zarr stores equals the direct computation; the summary statistics."""

import numpy as np
import pytest
import torch

from manifold_xai.evaluation.alignment import (
    SUMMARY_COLUMNS,
    alignment_dataset,
    bootstrap_ci,
    first_n_fractions,
    summary_rows,
)
from manifold_xai.models.vae import BurgessVAE
from manifold_xai.store import atomic_path, create_store, write_array
from manifold_xai.tangent.bases import fraction_in_tangent_space
from manifold_xai.tangent.basis_store import write_tangent_store


@pytest.fixture
def run_stores(tmp_path):
    """A tangent store (n=37, chunks of 10) and an attribution store with 2 methods."""
    vae = BurgessVAE(channels=1, image_size=8, latent_dim=3).eval()
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((37, 3)).astype(np.float32)
    write_tangent_store(
        tmp_path / "tangent.zarr",
        vae.decode,
        latents,
        np.arange(37),
        (1, 8, 8),
        device=torch.device("cpu"),
        chunk_mb=10 * 3 * 64 * 4 / 2**20,
    )
    attribution = rng.standard_normal((2, 37, 1, 8, 8)).astype(np.float32)
    attribution[1, 5] = 0  # a zero attribution has no direction
    with atomic_path(tmp_path / "attr.zarr") as tmp:
        group = create_store(tmp, {"methods": ["gradient", "smoothgrad"]})
        write_array(
            group,
            "attribution",
            attribution,
            ("method_name", "sample", "channel", "y", "x"),
            chunks=(2, 16, 1, 8, 8),
        )
        write_array(group, "predicted", rng.integers(0, 10, 37), ("sample",))
    return tmp_path / "tangent.zarr", tmp_path / "attr.zarr", attribution


def test_dask_alignment_equals_direct_numpy(run_stores):
    import zarr

    tangent, attr, attribution = run_stores
    labels = np.arange(37) % 10
    ds = alignment_dataset(tangent, attr, labels=labels, seed=0, threads=2)
    basis = zarr.open_group(str(tangent), mode="r")["basis"][...]
    direct = fraction_in_tangent_space(basis, attribution.reshape(2, 37, 64))
    np.testing.assert_allclose(ds["fraction"].values, direct, rtol=1e-12, equal_nan=True)
    assert np.isnan(ds["fraction"].values[1, 5])
    assert list(ds["method_name"].values) == ["gradient", "smoothgrad"]
    assert (
        ds.attrs["k"] == 3
        and ds.attrs["d"] == 64
        and ds.attrs["baseline"] == pytest.approx(np.sqrt(3 / 64))
    )
    np.testing.assert_array_equal(ds["label"].values, labels)
    # The random-vector fraction is deterministic per seed and close to sqrt(k/d) on average.
    again = alignment_dataset(tangent, attr, labels=labels, seed=0, threads=1)
    np.testing.assert_array_equal(ds["random_fraction"].values, again["random_fraction"].values)
    assert 0.1 < ds["random_fraction"].mean() < 0.3


def test_mismatched_stores_are_rejected(run_stores, tmp_path):
    tangent, _, _ = run_stores
    with atomic_path(tmp_path / "short.zarr") as tmp:
        group = create_store(tmp, {"methods": ["gradient"]})
        write_array(
            group,
            "attribution",
            np.zeros((1, 30, 1, 8, 8), np.float32),
            ("method_name", "sample", "channel", "y", "x"),
        )
        write_array(group, "predicted", np.zeros(30, np.int64), ("sample",))
    with pytest.raises(ValueError, match="do not match the tangent store"):
        alignment_dataset(tangent, tmp_path / "short.zarr", labels=np.zeros(37), seed=0)


def test_summary_rows_have_the_published_columns_and_bootstrap_ci(run_stores):
    tangent, attr, _ = run_stores
    ds = alignment_dataset(tangent, attr, labels=np.zeros(37, int), seed=0)
    rows = summary_rows(ds, dataset="digits", seed=0, regime="standard", n_resamples=500)
    assert [list(r) for r in rows] == [SUMMARY_COLUMNS] * 2
    grad, sg = rows
    assert grad["n"] == 37 and sg["n"] == 36  # NaN (zero attribution) excluded
    values = ds["fraction"].sel({"method_name": "gradient"}).values
    assert grad["mean"] == pytest.approx(values.mean()) and grad["median"] == pytest.approx(
        np.median(values)
    )
    assert grad["ci_low"] < grad["mean"] < grad["ci_high"]
    assert grad["baseline"] == pytest.approx(np.sqrt(3 / 64))


def test_bootstrap_ci_covers_the_mean_of_a_known_distribution():
    values = np.random.default_rng(1).normal(0.3, 0.1, 400)
    low, high = bootstrap_ci(values, n_resamples=1000, seed=0)
    assert low < 0.3 < high and high - low == pytest.approx(2 * 1.96 * 0.1 / 20, rel=0.25)


def test_first_n_fractions_projects_at_the_first_samples_only(run_stores):
    import zarr

    tangent, _, attribution = run_stores
    project = first_n_fractions(tangent, 7)
    vectors = attribution[:, :7].reshape(2, 7, 64)
    basis = zarr.open_group(str(tangent), mode="r")["basis"][:7]
    np.testing.assert_allclose(project(vectors), fraction_in_tangent_space(basis, vectors))
    with pytest.raises(ValueError, match="37 tangent spaces, 38 requested"):
        first_n_fractions(tangent, 38)


def _basis_store(path, basis: np.ndarray, rank: np.ndarray) -> None:
    from manifold_xai.tangent.basis_store import write_basis_store

    n, k, d = basis.shape
    write_basis_store(
        path,
        lambda a, b: (basis[a:b], np.ones((b - a, k)), rank[a:b]),
        n=n,
        k=k,
        d=d,
        sample_index=np.arange(n),
        attrs={"image_shape": [1, 1, d]},
        batch=n,
    )


def _attribution_store(path, attribution: np.ndarray, predicted: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        group = create_store(tmp, {"methods": ["gradient"]})
        write_array(
            group, "attribution", attribution, ("method_name", "sample", "channel", "y", "x")
        )
        write_array(group, "predicted", predicted, ("sample",))


def test_the_measured_random_baseline_uses_isotropic_gaussian_vectors(tmp_path):
    """A tangent space containing the constant direction: isotropic vectors have fraction ≈ sqrt(k/d), any
    non-centred distribution (e.g. uniform [0, 1)) would have most of its norm along (1, …, 1)."""
    n, k, d = 200, 4, 256
    rng = np.random.default_rng(0)
    frame = np.linalg.qr(np.c_[np.ones(d), rng.standard_normal((d, k - 1))])[
        0
    ].T  # (k, d), row 0 ∝ 1
    _basis_store(
        tmp_path / "t.zarr", np.repeat(frame[None], n, 0).astype(np.float32), np.full(n, k)
    )
    _attribution_store(
        tmp_path / "a.zarr",
        rng.standard_normal((1, n, 1, 1, d)).astype(np.float32),
        np.zeros(n, int),
    )
    ds = alignment_dataset(
        tmp_path / "t.zarr", tmp_path / "a.zarr", labels=np.zeros(n, int), seed=0
    )
    assert float(ds["random_fraction"].mean()) == pytest.approx(np.sqrt(k / d), abs=0.02)


def test_summary_counts_undefined_tangent_spaces_and_can_keep_correct_predictions_only(tmp_path):
    n, d = 6, 16
    basis = np.zeros((n, 1, d), np.float32)
    basis[1:, 0, 0] = 1.0  # sample 0: rank 0, no tangent space
    _basis_store(tmp_path / "t.zarr", basis, np.r_[0, np.ones(n - 1, int)])
    attribution = np.zeros((1, n, 1, 1, d), np.float32)
    attribution[0, :, 0, 0, 0] = 1.0
    attribution[0, 3:, 0, 0, 1] = np.sqrt(3.0)  # samples 3-5: fraction 1/2; samples 1-2: fraction 1
    labels, predicted = np.zeros(n, int), np.array([0, 0, 1, 0, 0, 0])  # sample 2 is misclassified
    _attribution_store(tmp_path / "a.zarr", attribution, predicted)
    ds = alignment_dataset(tmp_path / "t.zarr", tmp_path / "a.zarr", labels=labels, seed=0)
    assert np.isnan(ds["fraction"].values[0, 0]) and np.isnan(ds["random_fraction"].values[0])
    (row,) = summary_rows(ds, dataset="d", seed=0, regime="standard", n_resamples=100)
    assert (row["n"], row["n_undefined"]) == (5, 1) and row["mean"] == pytest.approx(
        (1 + 1 + 3 * 0.5) / 5
    )
    (row,) = summary_rows(
        ds, dataset="d", seed=0, regime="standard", n_resamples=100, correct_only=True
    )
    assert (row["n"], row["n_undefined"]) == (4, 1) and row["mean"] == pytest.approx(
        (1 + 3 * 0.5) / 4
    )
