"""Per-image intrinsic dimension from a spectrum, and what an estimate means when it cannot be read.

A decoder-free tangent source reads the local dimension k of each image from a spectrum: the singular
values of a denoiser's Jacobian (``tangent.denoiser``) or the FLIPD estimate (its trace). Every rule here
returns ``(dimension (n,) float64, reason (n,) int8)``: the dimension is NaN where the rule cannot decide,
and ``reason`` says why (``REASONS``; 0 = decided). A spectrum with no gap, or whose values are all above
the threshold, has no dimension below the number of values computed (``max_k``): reporting the cap would
be a number that means nothing.

- ``threshold_rank``: the count of singular values above ``threshold`` (½ for a denoiser: the directions
  in which the data spread more than the noise). Undecided when every computed value is above it.
- ``gap_rank``: the position of the largest ratio ``s_i / s_{i+1}`` of consecutive singular values.
  Undecided when that ratio is below ``min_ratio`` (no gap).
- ``rounded_rank``: a continuous estimate (FLIPD, or the Levina–Bickel estimate of rule
  ``levina_bickel``) rounded to the nearest integer. Undecided when it is not finite or above ``max_k``
  (no singular vectors to span it).

``levina_bickel``: the classical maximum-likelihood estimate of Levina and Bickel (NeurIPS 2004) at each
query from its distances to the nearest reference points (no model), through scikit-dimension.
"""

from __future__ import annotations

import numpy as np

REASONS = {
    0: "",
    1: "no spectral gap: the largest ratio of consecutive singular values is below min_ratio",
    2: "every computed singular value is above the threshold: the dimension is at least max_k",
    3: "the estimate is above max_k: no singular vectors to span it",
    4: "the estimate is not finite",
}
DECIDED, NO_GAP, ALL_ABOVE, ABOVE_MAX_K, NOT_FINITE = range(5)
RULES = ("threshold", "gap", "flipd", "levina_bickel")
#: published intrinsic-dimension estimates of real data, shown beside a dataset made from it
PUBLISHED_DIMENSIONS = {"mnist": "real MNIST: 7-14 (Pope et al., ICLR 2021; several estimators)"}


def threshold_rank(singular_values: np.ndarray, threshold: float = 0.5):
    """Count of ``singular_values (n, K)`` above ``threshold`` per row; NaN (reason 2) where all K are."""
    s = np.asarray(singular_values, np.float64)
    count = (s > threshold).sum(1).astype(np.float64)
    reason = np.where(count >= s.shape[1], ALL_ABOVE, DECIDED).astype(np.int8)
    count[reason != DECIDED] = np.nan
    return count, reason


def gap_rank(singular_values: np.ndarray, min_ratio: float = 2.0):
    """Position (1-based) of the largest ratio of consecutive values of ``singular_values (n, K)``
    (descending) per row; NaN (reason 1) where that ratio is below ``min_ratio``. A gap past the K-th
    value cannot be seen: raise ``max_k`` where estimates pile up at K − 1."""
    s = np.maximum(np.asarray(singular_values, np.float64), 1e-300)
    log_ratio = np.log(s[:, :-1]) - np.log(s[:, 1:])
    position = (log_ratio.argmax(1) + 1).astype(np.float64)
    reason = np.where(log_ratio.max(1) < np.log(min_ratio), NO_GAP, DECIDED).astype(np.int8)
    position[reason != DECIDED] = np.nan
    return position, reason


def rounded_rank(estimate: np.ndarray, max_k: int):
    """``estimate (n,)`` rounded to the nearest integer ≥ 0; NaN where it is not finite (reason 4) or
    rounds above ``max_k`` (reason 3)."""
    e = np.asarray(estimate, np.float64)
    k = np.round(np.maximum(e, 0.0))
    reason = np.full(len(e), DECIDED, np.int8)
    reason[~np.isfinite(e)] = NOT_FINITE
    reason[np.isfinite(e) & (k > max_k)] = ABOVE_MAX_K
    k[reason != DECIDED] = np.nan
    return k, reason


def read_dimension(
    rule: str,
    singular_values: np.ndarray,
    *,
    threshold: float = 0.5,
    min_ratio: float = 2.0,
    flipd: np.ndarray | None = None,
    estimate: np.ndarray | None = None,
):
    """The dimension per image by ``rule`` (``RULES``): ``(dimension (n,) float64, reason (n,) int8)``.
    ``flipd`` and ``estimate`` (the Levina–Bickel estimate per image) are the continuous estimates the
    ``flipd`` and ``levina_bickel`` rules round."""
    if rule == "threshold":
        return threshold_rank(singular_values, threshold)
    if rule == "gap":
        return gap_rank(singular_values, min_ratio)
    if rule == "flipd":
        if flipd is None:
            raise ValueError("the flipd rule needs the FLIPD estimates")
        return rounded_rank(flipd, np.asarray(singular_values).shape[1])
    if rule == "levina_bickel":
        if estimate is None:
            raise ValueError("the levina_bickel rule needs the Levina-Bickel estimates")
        return rounded_rank(estimate, np.asarray(singular_values).shape[1])
    raise ValueError(f"unknown intrinsic-dimension rule {rule!r}; known: {', '.join(RULES)}")


def usable_rank(dimension: np.ndarray) -> np.ndarray:
    """``(n,) int64`` rank of the tangent store: the dimension where decided, 0 where not (so the
    fraction in tangent space is undefined there rather than measured in a meaningless space)."""
    d = np.asarray(dimension, np.float64)
    return np.where(np.isfinite(d), d, 0).astype(np.int64)


def levina_bickel(queries: np.ndarray, reference: np.ndarray, neighbours: int = 20) -> np.ndarray:
    """``(n,) float64`` Levina–Bickel maximum-likelihood dimension at each of ``queries (n, d)`` from its
    ``neighbours`` nearest ``reference (r, d)`` points (Euclidean; a query equal to a reference point
    skips that point). scikit-dimension's ``MLE`` computes the estimate from the precomputed distances,
    so the estimate is at the queries and the neighbours are reference points only."""
    import warnings

    from sklearn.neighbors import NearestNeighbors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from skdim.id import MLE

    if neighbours + 1 > len(reference):
        raise ValueError(
            f"the Levina-Bickel estimate with {neighbours} neighbours needs more than {neighbours} "
            f"reference points, got {len(reference)}"
        )
    nn = NearestNeighbors(n_neighbors=neighbours + 1).fit(reference)
    dist, idx = nn.kneighbors(queries)
    keep = np.where(
        dist[:, :1] > 0, np.arange(neighbours)[None], np.arange(1, neighbours + 1)[None]
    )
    dist = np.take_along_axis(dist, keep, 1)
    idx = np.take_along_axis(idx, keep, 1)
    with warnings.catch_warnings():  # its n_neighbors checks concern X, unused with precomputed kNN
        warnings.simplefilter("ignore", UserWarning)
        estimator = MLE().fit(
            np.asarray(queries, np.float64),
            precomputed_knn_arrays=(dist.astype(np.float64), idx),
            n_neighbors=neighbours,
        )
    return np.asarray(estimator.dimension_pw_, np.float64)
