"""Comparing tangent spaces: a nonparametric estimate (local PCA) and principal angles.

- ``local_pca_tangents``: at each query point, the top-k right singular vectors of the differences to its
  ``neighbours`` nearest reference points (Euclidean). It needs no generative model, so it can check
  whether a conclusion depends on the autoencoder.
- ``principal_angles_deg``: the principal angles between two k-dimensional subspaces (scipy's
  ``subspace_angles``), in degrees; 0 = same subspace, 90 = orthogonal directions.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles
from scipy.spatial import cKDTree


def local_pca_tangents(queries: np.ndarray, reference: np.ndarray, k: int, neighbours: int) -> np.ndarray:
    """``(n, k, d) float32`` orthonormal rows at each of ``queries (n, d)`` from ``reference (m, d)``.

    A query that is itself in the reference set is skipped as its own neighbour (zero difference)."""
    if neighbours < k:
        raise ValueError(f"local PCA needs at least k = {k} neighbours, got {neighbours}")
    queries = np.asarray(queries, np.float64).reshape(len(queries), -1)
    reference = np.asarray(reference, np.float64).reshape(len(reference), -1)
    _, idx = cKDTree(reference).query(queries, k=neighbours + 1)
    bases = np.empty((len(queries), k, queries.shape[1]), np.float32)
    for i, (q, nn) in enumerate(zip(queries, idx, strict=True)):
        diffs = reference[nn] - q
        diffs = diffs[np.linalg.norm(diffs, axis=1) > 0][:neighbours]
        _, _, vt = np.linalg.svd(diffs, full_matrices=False)
        bases[i] = vt[:k]
    return bases


def principal_angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, k) float64`` principal angles (degrees, ascending) between the row spaces of ``a (n, k, d)``
    and ``b (n, k, d)``, sample by sample."""
    return np.stack([np.sort(np.degrees(subspace_angles(x.T, y.T))) for x, y in zip(a, b, strict=True)])
