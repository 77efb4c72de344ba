"""Tangent spaces of a decoder manifold and the fraction of a vector that lies in them.

The image manifold is the range of a decoder ``D: R^k -> R^d``. Its tangent space at ``x = D(z)`` is the
column space of the Jacobian ``J = dD/dz (z)``, a ``d × k`` matrix.

- ``decoder_jacobian``: forward mode, one JVP per latent direction, all ``n·k`` of them in a single
  batched forward pass (the paper's code did ``d`` reverse passes per image: 1024 on MNIST32).
- ``orthonormal_basis``: float64 SVD of ``J`` with an explicit relative rank tolerance; directions with
  singular value ``<= rtol · s_max`` (collapsed β-TCVAE latents) are dropped and the numerical rank is
  recorded. Rows of the returned basis beyond the rank are zero, so every basis has shape ``(k, d)``.
- ``fraction_in_tangent_space``: ``||P_T v|| / ||v||`` with ``P_T = U^T U`` for orthonormal rows ``U``.
- ``random_baseline``: ``sqrt(k / d)``, the expected fraction of an isotropic random vector (to first
  order; the exact mean is slightly lower).
- ``write_tangent_store``: the ``tangent.zarr`` store, written batch by batch (memory does not grow with n).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import torch

from manifold_xai.store import atomic_path, create_array, create_store, write_array

log = logging.getLogger(__name__)

DEFAULT_RTOL = 1e-3


def decoder_jacobian(
    decode: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> torch.Tensor:
    """Jacobians of ``decode`` at each latent: ``z (n, k)`` → ``J (n, d, k)`` in ``z``'s dtype.

    Column ``j`` of ``J[i]`` is the JVP of ``decode`` at ``z[i]`` along the unit vector ``e_j``. All n·k
    JVPs run as one batched forward-mode pass, so ``decode`` must treat batch rows independently
    (eval mode: no batch norm statistics, no dropout).
    """
    n, k = z.shape
    points = z.repeat_interleave(k, dim=0)  # (n·k, k): each latent repeated k times
    directions = torch.eye(k, dtype=z.dtype, device=z.device).repeat(
        n, 1
    )  # (n·k, k): e_0..e_{k-1}, n times
    _, jvps = torch.func.jvp(decode, (points,), (directions,))  # (n·k, c, h, w)
    return jvps.reshape(n, k, -1).transpose(1, 2)


def orthonormal_basis(
    jacobian: torch.Tensor, rtol: float = DEFAULT_RTOL
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Orthonormal bases of the column spaces of ``jacobian (n, d, k)``.

    Returns ``basis (n, k, d) float64`` whose first ``rank[i]`` rows are an orthonormal basis of
    ``col(J[i])`` and whose remaining rows are zero, ``singular_values (n, k) float64`` (descending), and
    ``rank (n,) int64`` = number of singular values ``> rtol · s_max`` (0 for a zero Jacobian).
    """
    if not 0 < rtol < 1:
        raise ValueError(f"rank tolerance must lie in (0, 1), got {rtol}")
    u, s, _ = torch.linalg.svd(
        jacobian.to(torch.float64), full_matrices=False
    )  # u (n, d, k), s (n, k)
    keep = s > rtol * s[:, :1]
    rank = keep.sum(dim=1)
    basis = (u * keep.unsqueeze(1)).transpose(1, 2)
    return basis, s, rank


def fraction_in_tangent_space(basis: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``||P_T v|| / ||v||`` per sample, in [0, 1].

    ``basis (n, k, d)`` with orthonormal (or zero) rows, ``vectors (..., n, d)`` (leading axes, e.g. methods,
    broadcast). Computed in float64. A zero vector has no direction: its fraction is NaN.
    """
    basis = np.asarray(basis, dtype=np.float64)
    vectors = np.asarray(vectors, dtype=np.float64)
    coefficients = np.einsum(
        "nkd,...nd->...nk", basis, vectors
    )  # coordinates of P_T v in the basis
    tangent_norm = np.linalg.norm(coefficients, axis=-1)
    norm = np.linalg.norm(vectors, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(norm > 0, tangent_norm / norm, np.nan)
    return np.clip(fraction, 0.0, 1.0)


def project(basis: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``vectors (..., n, d)`` into the tangent part ``P_T v`` and the orthogonal part ``v - P_T v``."""
    basis = np.asarray(basis, dtype=np.float64)
    vectors = np.asarray(vectors, dtype=np.float64)
    tangent = np.einsum("nkd,...nk->...nd", basis, np.einsum("nkd,...nd->...nk", basis, vectors))
    return tangent, vectors - tangent


def random_baseline(k: int, d: int) -> float:
    """``sqrt(k / d)``: the fraction of a random direction in a k-dimensional subspace of R^d."""
    return math.sqrt(k / d)


def write_tangent_store(
    path,
    decode: Callable[[torch.Tensor], torch.Tensor],
    latents: np.ndarray,
    sample_index: np.ndarray,
    image_shape: tuple[int, ...],
    *,
    device: torch.device,
    rtol: float = DEFAULT_RTOL,
    batch_size: int = 64,
    chunk_samples: int = 256,
    attrs: dict | None = None,
) -> dict:
    """Compute tangent bases at ``latents (n, k)`` and write ``tangent.zarr`` atomically.

    Arrays: ``basis (sample, direction, pixel) float32`` chunked ``(chunk_samples, k, d)``,
    ``singular_values (sample, direction) float64``, ``rank (sample,) int64``, ``sample_index (sample,)``
    (rows of ``data.zarr``). Returns summary statistics of the ranks.
    """
    n, k = latents.shape
    d = int(np.prod(image_shape))
    if k >= d:
        raise ValueError(f"latent dimension k={k} must be smaller than the image dimension d={d}")
    chunk_samples = max(1, min(chunk_samples, n))
    store_attrs = {"k": k, "d": d, "image_shape": list(image_shape), "rank_rtol": rtol,
                   "random_baseline": random_baseline(k, d), **(attrs or {})}  # fmt: skip
    ranks = np.zeros(n, dtype=np.int64)
    with atomic_path(path) as tmp:
        group = create_store(tmp, store_attrs)
        basis_arr = create_array(group, "basis", (n, k, d), np.float32, ("sample", "direction", "pixel"),
                                 chunks=(chunk_samples, k, d))  # fmt: skip
        sv_arr = create_array(group, "singular_values", (n, k), np.float64, ("sample", "direction"),
                              chunks=(chunk_samples, k))  # fmt: skip
        # Write whole chunks at a time: a buffer of one chunk is the only thing that grows with batch size.
        for start in range(0, n, chunk_samples):
            stop = min(n, start + chunk_samples)
            bases, svs = [], []
            for b in range(start, stop, batch_size):
                z = torch.from_numpy(latents[b : min(stop, b + batch_size)]).to(device)
                with torch.no_grad():  # forward-mode AD inside torch.func ignores the outer no_grad
                    jac = decoder_jacobian(decode, z)
                basis, s, rank = orthonormal_basis(jac, rtol)
                bases.append(basis.float().cpu().numpy())
                svs.append(s.cpu().numpy())
                ranks[b : b + len(z)] = rank.cpu().numpy()
            basis_arr[start:stop] = np.concatenate(bases)
            sv_arr[start:stop] = np.concatenate(svs)
            log.info("tangent bases %d/%d", stop, n)
        write_array(group, "rank", ranks, ("sample",))
        write_array(group, "sample_index", np.asarray(sample_index, dtype=np.int64), ("sample",))
    values, counts = np.unique(ranks, return_counts=True)
    return {
        "n": n,
        "k": k,
        "d": d,
        "rank_counts": {int(v): int(c) for v, c in zip(values, counts, strict=True)},
    }
