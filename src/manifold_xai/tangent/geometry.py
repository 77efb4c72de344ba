"""Comparing tangent spaces: a nonparametric estimate (local PCA) and principal angles.

- ``nearest_neighbours``: exact Euclidean k-nearest neighbours by blocked brute force. A k-d tree
  (scipy's ``cKDTree``) degrades to worse than brute force at image dimensions (d = 1024 and up), and
  a BLAS product of a block of queries with all references is what the distance needs.
- ``local_pca_tangents``: at each query point, the top-k right singular vectors of the differences to
  its ``neighbours`` nearest reference points. It needs no generative model, so it can check whether a
  conclusion depends on the autoencoder.
- ``principal_angles_deg``: the principal angles between two subspaces (scipy's ``subspace_angles``),
  in degrees; 0 = same subspace, 90 = orthogonal directions.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles


def nearest_neighbours(
    queries: np.ndarray, reference: np.ndarray, m: int, batch_size: int = 256
) -> np.ndarray:
    """``(n, m) int64`` indices into ``reference (r, d)`` of each of ``queries (n, d)``'s m nearest rows,
    nearest first; a reference row equal to the query (distance 0) is skipped. Memory: one
    ``(batch_size, r)`` block of squared distances (float64)."""
    queries = np.asarray(queries).reshape(len(queries), -1)
    reference = np.asarray(reference).reshape(len(reference), -1)
    if m + 1 > len(reference):
        raise ValueError(f"{m} neighbours requested from {len(reference)} reference points")
    ref_sq = np.einsum("rd,rd->r", reference, reference, dtype=np.float64)
    out = np.empty((len(queries), m), np.int64)
    for start in range(0, len(queries), batch_size):
        q = queries[start : start + batch_size]
        dist = (
            ref_sq[None]
            - 2.0 * (q.astype(np.float64) @ reference.T.astype(np.float64))
            + np.einsum("qd,qd->q", q, q, dtype=np.float64)[:, None]
        )
        cand = np.argpartition(dist, m, axis=1)[:, : m + 1]  # m + 1: room to skip the query itself
        order = np.argsort(np.take_along_axis(dist, cand, 1), axis=1, kind="stable")
        cand = np.take_along_axis(cand, order, 1)
        for i, row in enumerate(cand):
            same = np.all(reference[row] == q[i], axis=1)
            out[start + i] = row[~same][:m] if same.any() else row[:m]
    return out


def local_pca_tangents(
    queries: np.ndarray, reference: np.ndarray, k: int, neighbours: int, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Local-PCA tangent spaces at ``queries (n, d)`` from ``reference (r, d)`` (e.g. the training images).

    Returns ``basis (n, k, d) float32`` (orthonormal rows: the top-k right singular vectors of the
    ``(neighbours, d)`` differences between the query's nearest reference points and the query, in
    float64) and ``singular_values (n, k) float64`` (descending; their decay shows how flat the
    neighbourhood is)."""
    if neighbours < k:
        raise ValueError(f"local PCA needs at least k = {k} neighbours, got {neighbours}")
    queries = np.asarray(queries).reshape(len(queries), -1)
    reference = np.asarray(reference).reshape(len(reference), -1)
    idx = nearest_neighbours(queries, reference, neighbours, batch_size)
    bases = np.empty((len(queries), k, queries.shape[1]), np.float32)
    values = np.empty((len(queries), k), np.float64)
    for i, (q, nn) in enumerate(zip(queries, idx, strict=True)):
        diffs = reference[nn].astype(np.float64) - q
        _, s, vt = np.linalg.svd(diffs, full_matrices=False)
        bases[i], values[i] = vt[:k], s[:k]
    return bases, values


# A singular value of the neighbours' differences below this share of the largest is no direction.
LOCAL_PCA_RANK_RTOL = 1e-6


def local_pca_bases(
    queries: np.ndarray, reference: np.ndarray, k: int, neighbours: int, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``local_pca_tangents`` in the tangent stores' convention: ``basis (n, k, d) float32`` zero beyond
    each sample's ``rank (n,)`` (singular values above ``LOCAL_PCA_RANK_RTOL`` of the largest), and the
    ``singular_values (n, k)``."""
    basis, values = local_pca_tangents(queries, reference, k, neighbours, batch_size)
    rank = (values > LOCAL_PCA_RANK_RTOL * values[:, :1]).sum(1)
    basis[np.arange(k)[None, :] >= rank[:, None]] = 0.0
    return basis, values, rank


def principal_angles_deg(a: np.ndarray, b: np.ndarray, rank_a=None, rank_b=None) -> np.ndarray:
    """``(n, j) float64`` principal angles (degrees, ascending) between the row spaces of ``a (n, ka, d)``
    and ``b (n, kb, d)``, sample by sample, with j = min(ka, kb). ``rank_a``/``rank_b (n,)`` restrict each
    basis to its first rank rows (tangent stores zero the rows beyond the numerical rank); a sample with
    fewer angles is padded with NaN."""
    n, j = len(a), min(a.shape[1], b.shape[1])
    rank_a = np.full(n, a.shape[1]) if rank_a is None else np.asarray(rank_a)
    rank_b = np.full(n, b.shape[1]) if rank_b is None else np.asarray(rank_b)
    out = np.full((n, j), np.nan)
    for i in range(n):
        if rank_a[i] and rank_b[i]:
            x, y = (
                np.asarray(a[i][: rank_a[i]], np.float64),
                np.asarray(b[i][: rank_b[i]], np.float64),
            )
            angles = np.sort(np.degrees(subspace_angles(x.T, y.T)))
            out[i, : len(angles)] = angles
    return out
