"""Feature importance by removal: ROAR (remove and retrain, Hooker et al. 2019; docs/paper.md §8) and ROAD
(remove and debias, Rong et al. 2022: noisy linear imputation, no retraining).

Importance maps are per pixel, ``(n, h, w) float``; an attribution ``(n, c, h, w)`` becomes one by
``pixel_importance`` (|a| summed over channels, so a pixel is removed in every channel at once, as
ROAD; the paper's MNIST has one channel). Besides the attribution methods:

- ``tangent_importance``: the tangent space's own notion of importance, the leverage of each pixel,
  ``Σ_j u_j[p]²`` over the orthonormal basis rows (the squared norm of the projection of the unit vector
  e_p onto T; summed over a pixel's channels). It sums to the rank k (the paper asserts |Σ − k| < 1e-4).
- ``blurred``: a Gaussian-blurred map (scipy), the control for the bias of ROAR and ROAD towards smooth
  maps (Song et al., "On pitfalls of remove-and-retrain").
- ``random_importance``: uniform scores: removes a uniformly random set of pixels.

``removal_mask`` removes exactly ``round(fraction · h · w)`` pixels per image, the most important first
(MoRF) or the least important first (LeRF); ties are broken by a seeded random jitter, not by position.
``remove`` fills them with 0 (the paper) or a per-channel value (e.g. the training mean, Hooker et al.);
``noisy_linear_impute`` fills them as ROAD does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import splu

from manifold_xai.evaluation.reductions import t_interval, with_seed_columns

# ROAD's 8-neighbourhood weights: 1/6 for the 4 edge neighbours, 1/12 for the diagonals.
ROAD_WEIGHTS = {
    (-1, 0): 1 / 6,
    (1, 0): 1 / 6,
    (0, -1): 1 / 6,
    (0, 1): 1 / 6,
    (-1, -1): 1 / 12,
    (-1, 1): 1 / 12,
    (1, -1): 1 / 12,
    (1, 1): 1 / 12,
}


def pixel_importance(attribution: np.ndarray) -> np.ndarray:
    """``(n, c, h, w)`` attribution → ``(n, h, w) float64`` |a| summed over channels."""
    return np.abs(np.asarray(attribution, np.float64)).sum(axis=1)


def tangent_importance(basis: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """``basis (n, k, d)`` orthonormal rows (zero beyond the rank) → ``(n, h, w) float64`` leverage
    ``Σ_j u_j[p]²`` summed over each pixel's channels (sums to the rank)."""
    basis = np.asarray(basis, np.float64)
    leverage = np.einsum("nkd,nkd->nd", basis, basis)
    return leverage.reshape(len(basis), *image_shape).sum(axis=1)


def blurred(importance: np.ndarray, sigma: float) -> np.ndarray:
    """Each ``(h, w)`` map of ``importance (n, h, w)`` blurred with a Gaussian of ``sigma`` pixels."""
    return gaussian_filter(
        np.asarray(importance, np.float64), sigma=(0, sigma, sigma), mode="nearest"
    )


def random_importance(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def removal_mask(
    importance: np.ndarray, fraction: float, *, seed: int, order: str = "morf"
) -> np.ndarray:
    """``(n, h, w) bool``: True at the ``round(fraction · h · w)`` pixels of each image to remove, the
    largest importance first (``morf``) or the smallest first (``lerf``)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction to remove must lie in [0, 1], got {fraction}")
    if order not in ("morf", "lerf"):
        raise ValueError(f"order must be morf or lerf, got {order!r}")
    importance = np.asarray(importance, np.float64)
    n, h, w = importance.shape
    count = int(round(fraction * h * w))
    flat = importance.reshape(n, -1)
    if order == "lerf":
        flat = -flat
    jitter = np.random.default_rng(seed).random(flat.shape)
    # lexsort: the last key is the primary one; jitter only orders equal importances.
    ranks = np.stack([np.lexsort((jitter[i], -flat[i])) for i in range(n)])
    mask = np.zeros((n, h * w), bool)
    np.put_along_axis(mask, ranks[:, :count], True, axis=1)
    return mask.reshape(n, h, w)


def remove(images: np.ndarray, mask: np.ndarray, fill: np.ndarray | float = 0.0) -> np.ndarray:
    """``images (n, c, h, w)`` with the pixels of ``mask (n, h, w)`` set to ``fill`` (a scalar or a
    per-channel ``(c,)`` value) in every channel."""
    out = np.array(images, dtype=np.float32, copy=True)
    fill = np.broadcast_to(np.asarray(fill, np.float32), (images.shape[1],))
    for ch in range(images.shape[1]):
        out[:, ch][mask] = fill[ch]
    return out


def noisy_linear_impute(
    image: np.ndarray, mask: np.ndarray, *, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """ROAD's noisy linear imputation of one ``image (c, h, w)``: every removed pixel (``mask (h, w)``)
    equals the weighted mean of its in-image 8 neighbours (removed or not), one sparse linear system
    shared by the channels; then Gaussian noise of std ``noise`` is added to the imputed pixels.
    Needs at least one kept pixel."""
    c, h, w = image.shape
    removed = np.flatnonzero(mask.ravel())
    out = np.array(image, dtype=np.float64, copy=True).reshape(c, -1)
    if len(removed) == 0:
        return out.reshape(c, h, w).astype(np.float32)
    if len(removed) == h * w:
        raise ValueError("noisy linear imputation needs at least one pixel that is not removed")
    position = np.full(h * w, -1)
    position[removed] = np.arange(len(removed))
    rows, cols, vals = [], [], []
    rhs = np.zeros((len(removed), c))
    ys, xs = np.divmod(removed, w)
    for i, (y, x) in enumerate(zip(ys, xs, strict=True)):
        total = 0.0
        for (dy, dx), weight in ROAD_WEIGHTS.items():
            yy, xx = y + dy, x + dx
            if 0 <= yy < h and 0 <= xx < w:
                total += weight
                q = yy * w + xx
                if position[q] >= 0:
                    rows.append(i), cols.append(position[q]), vals.append(-weight)
                else:
                    rhs[i] += weight * out[:, q]
        rows.append(i), cols.append(i), vals.append(total)
    system = sp.csc_matrix((vals, (rows, cols)), shape=(len(removed), len(removed)))
    solution = splu(system).solve(rhs)
    out[:, removed] = solution.T + rng.normal(0.0, noise, size=(c, len(removed)))
    return out.reshape(c, h, w).astype(np.float32)


def road_images(images: np.ndarray, masks: np.ndarray, *, noise: float, seed: int) -> np.ndarray:
    """``noisy_linear_impute`` of every image ``(n, c, h, w)`` under ``masks (n, h, w)`` (seeded per call)."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            noisy_linear_impute(x, m, noise=noise, rng=rng)
            for x, m in zip(images, masks, strict=True)
        ]
    )


def repeat_seeds(seed_of, method: str, fraction: float, repeats: int) -> list[int]:
    """The training seeds of a (method, fraction)'s ``repeats`` retrainings: ``seed_of(name)`` (the job's
    seed derivation) of a distinct name per repeat, so repeats, methods and fractions never share one."""
    seeds = [int(seed_of(f"roar/train/{method}/{fraction}/repeat{r}")) for r in range(repeats)]
    if len(set(seeds)) != repeats:
        raise ValueError(f"ROAR repeats of {method} at {fraction} got colliding seeds {seeds}")
    return seeds


ROAR_COLUMNS = [
    "dataset",
    "seed",
    "method",
    "fraction",
    "repeats",
    "accuracy",
    "accuracy_sd",
    "ci_low",
    "ci_high",
    "train_accuracy",
    "n_train",
    "n_test",
    "fill",
    "order",
]


def roar_rows(results: list[dict]) -> pd.DataFrame:
    """``roar.csv``: per (dataset, seed, method, fraction) the mean test accuracy over the repeated
    retrainings with its 95% t-interval over repeats (``reductions.t_interval``), then the across-seed
    columns of each (dataset, method, fraction) (``reductions.SEED_COLUMNS``, over the seeds' means)."""
    rows = []
    for r in results:
        est = t_interval(r["accuracies"])
        rows.append(
            {
                **{
                    k: r[k]
                    for k in (
                        "dataset",
                        "seed",
                        "method",
                        "fraction",
                        "n_train",
                        "n_test",
                        "fill",
                        "order",
                    )
                },
                "repeats": est["n"],
                "accuracy": est["mean"],
                "accuracy_sd": est["sd"],
                "ci_low": est["low"],
                "ci_high": est["high"],
                "train_accuracy": float(np.mean(r["train_accuracies"])),
            }
        )
    table = pd.DataFrame(rows, columns=ROAR_COLUMNS).sort_values(
        ["dataset", "seed", "method", "fraction"], kind="stable"
    )
    return with_seed_columns(table, ["dataset", "method", "fraction"], value="accuracy")
