"""Tangent stores from other sources (local PCA), principal angles between stores, and their summary."""

import numpy as np
import pytest
import torch

from manifold_xai.data.sources import load_source
from manifold_xai.data.torus import TorusRenderer
from manifold_xai.store import open_store
from manifold_xai.tangent.basis_store import write_tangent_store
from manifold_xai.tangent.sources import accuracy_rows, angles_to_reference, local_pca_store


@pytest.fixture(scope="module")
def torus_stores(tmp_path_factory):
    """Exact and local-PCA tangent stores of 12 torus test images (reference: 3000 training images)."""
    root = tmp_path_factory.mktemp("torus")
    src = load_source({"kind": "torus", "n_train": 3000, "n_test": 12, "seed": 1})
    test = np.flatnonzero(src.split == 1)
    train = np.flatnonzero(src.split == 0)
    renderer = TorusRenderer()
    write_tangent_store(
        root / "exact.zarr",
        renderer.decode,
        src.latents[test],
        test,
        (1, 32, 32),
        device=torch.device("cpu"),
        chunk_mb=0.01,
        attrs={"tangent_source": "exact"},
    )
    metrics = local_pca_store(
        root / "pca.zarr",
        src.images[test].reshape(12, -1),
        src.images[train].reshape(3000, -1),
        test,
        (1, 32, 32),
        k=2,
        neighbours=8,
        batch_size=5,
        chunk_mb=0.01,
    )
    return root, src, test, metrics


def test_the_torus_source_is_the_renderer_at_its_latents(torus_stores):
    _, src, _, _ = torus_stores
    assert src.images.shape == (3012, 1, 32, 32) and src.latents.shape == (3012, 2)
    with torch.no_grad():
        np.testing.assert_allclose(
            TorusRenderer().decode(torch.from_numpy(src.latents[:5])).numpy(), src.images[:5]
        )
    assert set(src.labels) == {0, 1, 2, 3}


def test_local_pca_store_has_the_tangent_store_layout(torus_stores):
    root, _, test, metrics = torus_stores
    store = open_store(root / "pca.zarr")
    assert store["basis"].shape == (12, 2, 1024) and store["basis"].chunks[0] < 12  # several chunks
    np.testing.assert_array_equal(store["sample_index"][...], test)
    assert store.attrs["tangent_source"] == "local_pca" and store.attrs["neighbours"] == 8
    basis = store["basis"][...].astype(np.float64)
    np.testing.assert_allclose(
        basis @ basis.transpose(0, 2, 1), np.broadcast_to(np.eye(2), (12, 2, 2)), atol=1e-5
    )
    assert metrics["rank_counts"] == {2: 12}


def test_angles_to_the_exact_tangent_space(torus_stores):
    root, _, _, _ = torus_stores
    same = angles_to_reference(root / "exact.zarr", {"exact_again": root / "exact.zarr"}, chunk=5)
    np.testing.assert_allclose(same["angle"].values, 0, atol=1e-2)
    ds = angles_to_reference(root / "exact.zarr", {"local_pca": root / "pca.zarr"}, chunk=5)
    angles = ds["angle"].sel({"source": "local_pca"}).values
    assert angles.shape == (12, 2) and (np.diff(angles, axis=1) >= 0).all()
    assert np.median(angles[:, 1]) < 30 and ds.attrs["reference"] == "exact"


def test_accuracy_rows_average_the_mean_and_the_largest_angle():
    import xarray as xr

    angles = np.array([[[10.0, 30.0], [20.0, 40.0], [np.nan, np.nan]]])  # the third sample: rank 0
    ds = xr.Dataset(
        {"angle": (("source", "sample", "angle_index"), angles)},
        coords={"source": ["vae"]},
        attrs={"reference": "exact", "reference_k": 2, "k": [2]},
    )
    (row,) = accuracy_rows(ds, dataset="t", seed=3, n_resamples=100)
    assert row["principal_angle_mean_deg"] == pytest.approx(25.0)  # mean of 20 and 30
    assert row["principal_angle_max_deg"] == pytest.approx(35.0)  # mean of 30 and 40
    assert row["n"] == 2 and row["ci_low"] <= 25.0 <= row["ci_high"] and row["source"] == "vae"


def test_stores_at_different_samples_are_refused(torus_stores, tmp_path):
    root, src, test, _ = torus_stores
    local_pca_store(
        tmp_path / "other.zarr",
        src.images[test].reshape(12, -1),
        src.images[:100].reshape(100, -1),
        test + 1,
        (1, 32, 32),
        k=2,
        neighbours=8,
    )
    with pytest.raises(ValueError, match="other samples"):
        angles_to_reference(root / "exact.zarr", {"local_pca": tmp_path / "other.zarr"})
    with pytest.raises(ValueError, match="needs more than 200 training images"):
        local_pca_store(
            tmp_path / "x.zarr",
            src.images[:2].reshape(2, -1),
            src.images[:200].reshape(200, -1),
            np.arange(2),
            (1, 32, 32),
            k=2,
            neighbours=200,
        )
    assert not (tmp_path / "x.zarr").exists()
