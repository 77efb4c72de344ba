"""Training curves: the fraction in tangent space of attributions over training (docs/paper.md §7, Figs 6/15).

``evaluate_checkpoints`` loads every checkpoint of one run (``manifold_xai.training.checkpoints``) and returns an
``xarray.Dataset`` (stored as ``curves/{regime}.zarr``):

- ``fraction (step, method_name, sample) float64``: fraction in tangent space of each tracked method's
  attribution at the first ``n`` test images;
- ``random_fraction (sample,)``: the same for one seeded Gaussian vector per image (measured baseline);
- ``train_error (step,)``, ``test_error (step,)``: 0-1 errors on the training samples the regime trained
  on (random labels: the permuted labels) and on the whole test split; ``epoch (step,)``;
- attrs ``k``, ``d``, ``baseline`` = sqrt(k/d).

``summarize_curves`` stacks runs along ``dataset, seed, regime`` (``manifold_xai.evaluation.reductions``) and
reduces over the images: ``mean, ci_low, ci_high (dataset, seed, regime, method_name, step)`` (95% t-interval
over images) with the errors; ``curve_rows`` flattens that into ``results/summary/curves.csv``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from manifold_xai.evaluation.reductions import RUN_DIMS, mean_ci, stack_runs
from manifold_xai.tangent.bases import random_baseline

log = logging.getLogger(__name__)

CURVE_COLUMNS = [
    "dataset",
    "seed",
    "regime",
    "method",
    "step",
    "mean",
    "ci_low",
    "ci_high",
    "train_error",
    "test_error",
]


def evaluate_checkpoints(
    checkpoints,
    *,
    images: np.ndarray,
    methods: dict[str, dict],
    fractions: Callable[[np.ndarray], np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    k: int,
    seed: int,
    device,
    manifold=None,
) -> xr.Dataset:
    """Evaluate every checkpoint in the directory ``checkpoints`` (see module docstring).

    ``images (n, c, h, w)``: the test images whose attributions are projected; ``fractions`` maps
    ``vectors (m, n, d)`` at those images to ``(m, n)`` fractions (``alignment.first_n_fractions``);
    ``train``/``test``: ``(images, labels)`` for the errors. Stochastic methods use the same ``seed``
    at every step, so the curves do not jitter with the noise draw. ``manifold``: the images'
    ``attribution.manifold.ManifoldContext``, for methods that use the manifold.
    """
    # the models' imports here: the summary and figure jobs use this module without torch
    from manifold_xai.attribution import attribute
    from manifold_xai.training.checkpoints import load_checkpoint, read_index
    from manifold_xai.training.inference import accuracy, predict_logits

    index = read_index(checkpoints)
    steps, n, d = index["steps"], len(images), int(np.prod(images.shape[1:]))
    fraction = np.full((len(steps), len(methods), n), np.nan)
    train_error, test_error = np.zeros(len(steps)), np.zeros(len(steps))
    for i, step in enumerate(steps):
        model = load_checkpoint(checkpoints, index, step, device)
        vectors = np.stack(
            [
                attribute(
                    model,
                    images,
                    {name: params},
                    device=device,
                    batch_size=params["batch_size"],
                    seed=seed,
                    manifold=manifold,
                )[0][0].reshape(n, d)
                for name, params in methods.items()
            ]
        )
        fraction[i] = fractions(vectors)
        train_error[i] = 1 - accuracy(predict_logits(model, train[0], device), train[1])
        test_error[i] = 1 - accuracy(predict_logits(model, test[0], device), test[1])
        log.info(
            "step %d: mean fraction %s, train error %.4f, test error %.4f",
            step,
            np.round(np.nanmean(fraction[i], axis=1), 4).tolist(),
            train_error[i],
            test_error[i],
        )
    gaussian = np.random.default_rng(seed).standard_normal((1, n, d)).astype(np.float32)
    return xr.Dataset(
        {
            "fraction": (("step", "method_name", "sample"), fraction),
            "random_fraction": (("sample",), fractions(gaussian)[0]),
            "train_error": (("step",), train_error),
            "test_error": (("step",), test_error),
            "epoch": (("step",), np.asarray(index["epochs"], np.int64)),
        },
        coords={
            "step": np.asarray(steps, np.int64),
            "method_name": list(methods),
            "sample": np.arange(n),
        },
        attrs={
            "k": k,
            "d": d,
            "baseline": random_baseline(k, d),
            "n_train_error": len(train[1]),
            "n_test_error": len(test[1]),
        },
    )


def summarize_curves(runs: dict[tuple[str, int, str], xr.Dataset]) -> xr.Dataset:
    """Per run, method and step: mean fraction over the images with a 95% t-interval, the errors and
    the baseline, on dimensions ``dataset, seed, regime, method_name, step`` (NaN where a run has no such
    step). Lazy when the runs are (``xr.open_zarr``); call ``.compute()``."""
    stacked = stack_runs(runs, ["fraction", "random_fraction", "train_error", "test_error"])
    summary = mean_ci(stacked["fraction"], "sample")
    summary["random_mean"] = stacked["random_fraction"].mean("sample")
    for name in ("train_error", "test_error", "baseline"):
        summary[name] = stacked[name]
    return summary.transpose(*RUN_DIMS, "method_name", "step")


def curve_rows(summary: xr.Dataset) -> pd.DataFrame:
    """The rows of ``results/summary/curves.csv`` (``CURVE_COLUMNS``): one per run, method and step."""
    table = summary[["mean", "ci_low", "ci_high", "train_error", "test_error"]].to_dataframe()
    table = table.dropna(subset=["train_error"]).reset_index()  # steps each run has
    table = table.rename(columns={"method_name": "method"})
    table["seed"] = table["seed"].astype(int)
    table["step"] = table["step"].astype(int)
    return table[CURVE_COLUMNS].sort_values(
        ["dataset", "seed", "regime", "method", "step"], ignore_index=True
    )
