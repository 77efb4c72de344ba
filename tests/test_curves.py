"""Training curves: checkpoint evaluation equals the direct computation; reductions equal numpy."""

import numpy as np
import pytest
import torch
import xarray as xr
from scipy import stats

from manifold_xai.attribution import attribute
from manifold_xai.evaluation.curves import (
    CURVE_COLUMNS,
    curve_rows,
    evaluate_checkpoints,
    summarize_curves,
)
from manifold_xai.evaluation.reductions import mean_ci, seed_band, stack_runs
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.tangent.bases import fraction_in_tangent_space
from manifold_xai.training.checkpoints import checkpoint_directory


def orthonormal_bases(n, k, d, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, d, k)))
    return np.ascontiguousarray(q.transpose(0, 2, 1)).astype(np.float32)  # (n, k, d)


def test_evaluating_checkpoints_equals_projecting_each_checkpoints_gradient(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((12, 1, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 3, 12)
    basis = orthonormal_bases(5, 3, 64)
    kwargs = {"channels": 1, "image_size": 8, "n_classes": 3}
    models = {}
    with checkpoint_directory(tmp_path / "ckpt", "lenet", kwargs, [0, 5]) as writer:
        for step in (0, 5):
            torch.manual_seed(step)
            models[step] = build_classifier("lenet", **kwargs).eval()
            writer(step, step // 5, models[step])
    ds = evaluate_checkpoints(
        tmp_path / "ckpt",
        images=images[:5],
        methods={"gradient": {"batch_size": 2}},
        fractions=lambda v: fraction_in_tangent_space(basis, v),
        train=(images, labels),
        test=(images[:6], labels[:6]),
        k=3,
        seed=0,
        device=torch.device("cpu"),
    )
    assert ds["fraction"].dims == ("step", "method_name", "sample") and ds["fraction"].shape == (
        2,
        1,
        5,
    )
    for i, step in enumerate((0, 5)):
        grad, _ = attribute(
            models[step],
            images[:5],
            {"gradient": {}},
            device=torch.device("cpu"),
            batch_size=5,
            seed=0,
        )
        expected = fraction_in_tangent_space(basis, grad.reshape(1, 5, 64))
        np.testing.assert_allclose(ds["fraction"].values[i], expected, rtol=1e-5)
        with torch.no_grad():
            predicted = models[step](torch.from_numpy(images)).argmax(1).numpy()
        assert ds["train_error"].values[i] == pytest.approx(np.mean(predicted != labels))
        assert ds["test_error"].values[i] == pytest.approx(np.mean(predicted[:6] != labels[:6]))
    assert ds.attrs["baseline"] == pytest.approx(np.sqrt(3 / 64))
    assert list(ds["epoch"].values) == [0, 1]


def fake_run(steps, seed, n=6):
    rng = np.random.default_rng(seed)
    fraction = rng.random((len(steps), 2, n))
    fraction[0, 1, 0] = np.nan  # a zero attribution
    return xr.Dataset(
        {
            "fraction": (("step", "method_name", "sample"), fraction),
            "random_fraction": (("sample",), rng.random(n)),
            "train_error": (("step",), rng.random(len(steps))),
            "test_error": (("step",), rng.random(len(steps))),
        },
        coords={"step": steps, "method_name": ["gradient", "smoothgrad"], "sample": np.arange(n)},
        attrs={"baseline": 0.1},
    )


def test_curve_summary_equals_numpy_and_pads_steps_a_run_never_reached():
    runs = {
        ("digits", 0, "standard"): fake_run([0, 1, 5], 0),
        ("digits", 1, "standard"): fake_run([0, 1, 5], 1),
        ("digits", 0, "random_labels"): fake_run([0, 2], 2),
    }
    lazy = {
        key: ds.chunk({"sample": 2}) for key, ds in runs.items()
    }  # Dask-backed, as from open_zarr
    summary = summarize_curves(lazy).compute()
    assert summary["mean"].dims == ("dataset", "seed", "regime", "method_name", "step")
    for (dataset, seed, regime), ds in runs.items():
        cell = summary.sel(dataset=dataset, seed=seed, regime=regime)
        for step in ds["step"].values:
            for method in ("gradient", "smoothgrad"):
                values = ds["fraction"].sel({"step": step, "method_name": method}).values
                values = values[np.isfinite(values)]
                got = cell.sel({"step": step, "method_name": method})
                half = (
                    stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
                )
                np.testing.assert_allclose(
                    [got["mean"], got["ci_low"], got["ci_high"]],
                    [values.mean(), values.mean() - half, values.mean() + half],
                )
            np.testing.assert_allclose(got["test_error"], ds["test_error"].sel(step=step))
    assert np.isnan(
        summary["mean"].sel(dataset="digits", seed=0, regime="random_labels", step=5)
    ).all()
    assert np.isnan(summary["mean"].sel(dataset="digits", seed=1, regime="random_labels")).all()
    table = curve_rows(summary)
    assert list(table.columns) == CURVE_COLUMNS
    assert len(table) == (3 + 3 + 2) * 2  # one row per run, method and step the run has
    assert table["seed"].dtype.kind == "i" and table["step"].dtype.kind == "i"


def test_seed_band_is_the_mean_and_central_quantiles_across_seeds():
    values = np.random.default_rng(3).random((4, 7))  # (seed, step)
    values[2, 3] = np.nan
    da = xr.DataArray(values, dims=("seed", "step"))
    band = seed_band(da, level=0.9)
    np.testing.assert_allclose(band["mean"], np.nanmean(values, axis=0))
    np.testing.assert_allclose(band["low"], np.nanquantile(values, 0.05, axis=0))
    np.testing.assert_allclose(band["high"], np.nanquantile(values, 0.95, axis=0))


def test_mean_ci_is_nan_with_fewer_than_two_values():
    da = xr.DataArray([[0.2, np.nan, np.nan], [0.1, 0.3, 0.5]], dims=("row", "sample"))
    out = mean_ci(da, "sample")
    assert out["mean"].values[0] == pytest.approx(0.2) and np.isnan(out["ci_low"].values[0])
    assert out["n"].values.tolist() == [1, 3]


def test_stacking_alignment_runs_pads_samples_and_keeps_baselines():
    a, b = fake_run([0], 0, n=6).isel(step=0), fake_run([0], 1, n=4).isel(step=0)
    b.attrs["baseline"] = 0.2
    stacked = stack_runs({("x", 0, "standard"): a, ("x", 1, "standard"): b}, ["fraction"])
    assert stacked["fraction"].dims == ("dataset", "seed", "regime", "method_name", "sample")
    assert np.isnan(stacked["fraction"].sel(seed=1, sample=[4, 5])).all()
    np.testing.assert_array_equal(
        stacked["fraction"].sel(seed=0).values[0, 0], a["fraction"].values
    )
    assert stacked["baseline"].values.ravel().tolist() == [0.1, 0.2]


def test_the_curve_figure_averages_seeds_only_where_every_seed_has_a_checkpoint(tmp_path):
    """The hard case of Figure 6: random-label runs stop at different steps; the mean must not jump
    where one seed ends, and two seeds get no quantile band."""
    import matplotlib.pyplot as plt
    from PIL import Image

    import manifold_xai.figures.curves as figures

    runs = {
        ("digits", 0, "random_labels"): fake_run([0, 1, 5, 9], 0),
        ("digits", 1, "random_labels"): fake_run([0, 1, 5], 1),  # stops early
    }
    summary = summarize_curves(runs).compute().sel(dataset="digits")
    drawn = {}
    close = plt.close

    def keep(fig):  # look at the figure before it is closed
        drawn["axes"] = fig.axes
        close(fig)

    figures.plt.close = keep
    try:
        figures.training_curves(
            summary,
            ["random_labels"],
            ["gradient"],
            tmp_path / "fig6_digits.png",
            title="digits",
            errors=False,
        )
    finally:
        figures.plt.close = close
    ax = drawn["axes"][0]
    thick = [line for line in ax.get_lines() if line.get_linewidth() == 2]
    assert len(thick) == 1 and list(thick[0].get_xdata()) == [0, 1, 5]  # both seeds' steps only
    thin = [line for line in ax.get_lines() if line.get_linewidth() < 1]
    assert sorted(len(line.get_xdata()) for line in thin) == [3, 4]  # each seed's own curve
    assert not ax.collections  # no band from two seeds
    description = Image.open(tmp_path / "fig6_digits.png").info["Description"]
    assert description.startswith("Figure 6: digits (thin: each of 2 seeds; thick: their mean)")
