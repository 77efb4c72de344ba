"""Data: the digits source, rejection sampling, the data.zarr format."""

import numpy as np
import pytest
import torch
from torch import nn

from manifold_xai.data.dataset_store import Dataset, read_dataset, write_dataset
from manifold_xai.data.generative import rejection_sample
from manifold_xai.data.sources import TEST, TRAIN, load_source


def test_digits_source_is_resized_scaled_and_split_stratified():
    src = load_source({"kind": "digits", "image_size": 32, "test_fraction": 0.2, "split_seed": 0})
    assert src.images.shape == (1797, 1, 32, 32) and src.images.dtype == np.float32
    assert 0 <= src.images.min() and src.images.max() <= 1 and src.images.max() > 0.9
    assert src.n_classes == 10
    test_share = (src.split == TEST).mean()
    assert test_share == pytest.approx(0.2, abs=0.01)
    per_class = [(src.split[src.labels == c] == TEST).mean() for c in range(10)]
    assert np.allclose(per_class, 0.2, atol=0.03)
    again = load_source({"kind": "digits", "image_size": 32, "test_fraction": 0.2, "split_seed": 0})
    np.testing.assert_array_equal(src.split, again.split)


def test_unknown_source_kind_is_named():
    with pytest.raises(ValueError, match="unknown source kind 'cifar100'"):
        load_source({"kind": "cifar100"})
    with pytest.raises(ValueError, match="source kind 'mnist': .*root"):
        load_source({"kind": "mnist"})


class ConstantLabeller(nn.Module):
    """Predicts class 0 when z[0] > 0 with confidence p, else class 1 with confidence p."""

    def __init__(self, p):
        super().__init__()
        self.logit = float(np.log(p / (1 - p)))

    def forward(self, x):
        sign = (x[:, 0] > 0).float() * 2 - 1
        return torch.stack([sign * self.logit / 2, -sign * self.logit / 2], dim=1)


def test_rejection_sampling_accepts_with_probability_p_max_squared():
    decode = lambda z: z  # noqa: E731  (the "image" is the latent itself)
    out = rejection_sample(
        decode,
        ConstantLabeller(0.8),
        2000,
        3,
        2.0,
        torch.Generator().manual_seed(0),
        torch.device("cpu"),
        batch_size=256,
    )
    assert len(out.labels) == 2000
    assert out.acceptance_rate == pytest.approx(0.64, abs=0.03)
    np.testing.assert_array_equal(out.labels, (out.latents[:, 0] <= 0).astype(int))
    np.testing.assert_allclose(out.p_max, 0.8, rtol=1e-5)
    again = rejection_sample(
        decode,
        ConstantLabeller(0.8),
        2000,
        3,
        2.0,
        torch.Generator().manual_seed(0),
        torch.device("cpu"),
        batch_size=256,
    )
    np.testing.assert_array_equal(out.latents, again.latents)


def test_dataset_store_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ds = Dataset(
        rng.random((12, 1, 4, 4), dtype=np.float32),
        rng.integers(0, 3, 12),
        rng.standard_normal((12, 2)).astype(np.float32),
        np.array([TRAIN] * 8 + [TEST] * 4, np.int8),
        {"n_classes": 3},
    )
    write_dataset(tmp_path / "d.zarr", ds)
    back = read_dataset(tmp_path / "d.zarr")
    np.testing.assert_array_equal(back.images, ds.images)
    np.testing.assert_array_equal(back.test_index, np.arange(8, 12))
    assert back.attrs == {"n_classes": 3}
    bad = Dataset(ds.images.copy(), ds.labels, ds.latents, ds.split, {})
    bad.images[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        write_dataset(tmp_path / "bad.zarr", bad)
    assert not (tmp_path / "bad.zarr").exists()
