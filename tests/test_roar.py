"""ROAR masking and filling, the tangent leverage, ROAD's noisy linear imputation."""

import numpy as np
import pytest

from manifold_xai.evaluation.roar import (
    blurred,
    noisy_linear_impute,
    pixel_importance,
    removal_mask,
    remove,
    road_images,
    tangent_importance,
)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.3, 0.5, 0.95, 1.0])
def test_masking_removes_exactly_the_requested_fraction(fraction):
    importance = np.random.default_rng(0).random((6, 32, 32))
    importance[0] = 1.0  # all tied: still exactly the fraction, ties broken at random
    mask = removal_mask(importance, fraction, seed=1)
    assert mask.shape == (6, 32, 32)
    np.testing.assert_array_equal(mask.sum(axis=(1, 2)), round(fraction * 1024))


def test_most_important_pixels_go_first_and_lerf_is_the_reverse():
    importance = np.arange(16, dtype=float).reshape(1, 4, 4)
    morf = removal_mask(importance, 0.25, seed=0)
    lerf = removal_mask(importance, 0.25, seed=0, order="lerf")
    assert set(np.flatnonzero(morf[0])) == {12, 13, 14, 15}
    assert set(np.flatnonzero(lerf[0])) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="fraction"):
        removal_mask(importance, 1.5, seed=0)


def test_remove_fills_every_channel_of_the_masked_pixels_and_nothing_else():
    images = np.random.default_rng(1).random((2, 3, 8, 8)).astype(np.float32)
    mask = removal_mask(np.random.default_rng(2).random((2, 8, 8)), 0.5, seed=0)
    out = remove(images, mask, fill=np.array([0.1, 0.2, 0.3]))
    for c, value in enumerate([0.1, 0.2, 0.3]):
        np.testing.assert_allclose(out[:, c][mask], value)
        np.testing.assert_array_equal(out[:, c][~mask], images[:, c][~mask])
    assert (remove(images, mask)[0][:, mask[0]] == 0).all()  # default fill: 0, the paper


def test_tangent_leverage_sums_to_the_rank_per_image():
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((2 * 16, 3)))[
        0
    ].T  # 3 orthonormal rows, d = 2·4·4
    basis = np.stack([q, np.concatenate([q[:2], np.zeros((1, 32))])])  # ranks 3 and 2
    leverage = tangent_importance(basis, (2, 4, 4))
    assert leverage.shape == (2, 4, 4) and (leverage >= 0).all()
    np.testing.assert_allclose(leverage.sum(axis=(1, 2)), [3, 2], atol=1e-10)


def test_pixel_importance_and_blur():
    attribution = np.zeros((1, 3, 9, 9))
    attribution[0, :, 4, 4] = [1, -2, 3]
    importance = pixel_importance(attribution)
    assert importance[0, 4, 4] == 6 and importance.sum() == 6
    smooth = blurred(importance, sigma=1.5)
    assert (
        smooth[0, 4, 4] < 6
        and smooth[0, 4, 5] > 0
        and smooth[0, 4, 5] == pytest.approx(smooth[0, 5, 4])
    )


def test_noisy_linear_imputation_keeps_the_rest_and_reproduces_a_linear_image():
    y, x = np.mgrid[0:12, 0:12]
    image = np.stack([0.02 * x + 0.03 * y, 0.5 - 0.01 * x]).astype(
        np.float64
    )  # linear: the stencil's fixed point
    mask = np.zeros((12, 12), bool)
    mask[3:9, 4:8] = True  # an interior block, away from the border
    out = noisy_linear_impute(image, mask, noise=0.0, rng=np.random.default_rng(0))
    np.testing.assert_allclose(out, image, atol=1e-6)
    noisy = noisy_linear_impute(image, mask, noise=0.01, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(noisy[:, ~mask], image[:, ~mask].astype(np.float32))
    assert 0.005 < np.std(noisy[:, mask] - image[:, mask]) < 0.02
    with pytest.raises(ValueError, match="at least one pixel"):
        noisy_linear_impute(image, np.ones((12, 12), bool), noise=0.0, rng=np.random.default_rng(0))
    batch = road_images(image[None].repeat(2, 0), np.stack([mask, mask]), noise=0.0, seed=0)
    assert batch.shape == (2, 2, 12, 12)


def test_roar_repeats_have_distinct_seeds_and_the_interval_is_the_t_interval():
    from scipy import stats

    from manifold_xai.evaluation.roar import repeat_seeds, roar_rows

    def seed_of(name):  # the job's derivation: a hash of the name
        import hashlib

        return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")

    seeds = repeat_seeds(seed_of, "gradient", 0.3, 5)
    assert len(set(seeds)) == 5 and set(seeds).isdisjoint(repeat_seeds(seed_of, "gradient", 0.6, 5))
    skewed = [0.91, 0.90, 0.905, 0.60]  # one failed retraining: a skewed sample
    base = {
        "dataset": "d",
        "method": "gradient",
        "fraction": 0.3,
        "n_train": 1,
        "n_test": 1,
        "fill": "zero",
        "order": "morf",
        "train_accuracies": [1.0] * 4,
    }
    results = [
        {**base, "seed": 0, "accuracies": skewed},
        {**base, "seed": 1, "accuracies": [0.8, 0.7, 0.75, 0.85]},
    ]
    table = roar_rows(results)
    row = table[table["seed"] == 0].iloc[0]
    a = np.array(skewed)
    half = stats.t.ppf(0.975, 3) * a.std(ddof=1) / np.sqrt(4)
    assert row["repeats"] == 4 and row["accuracy"] == pytest.approx(a.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((a.mean() - half, a.mean() + half))
    means = np.array([a.mean(), 0.775])
    half = stats.t.ppf(0.975, 1) * means.std(ddof=1) / np.sqrt(2)
    assert row["n_seeds"] == 2 and row["seed_mean"] == pytest.approx(means.mean())
    assert (row["seed_ci_low"], row["seed_ci_high"]) == pytest.approx(
        (means.mean() - half, means.mean() + half)
    )
