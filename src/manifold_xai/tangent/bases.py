"""Tangent spaces of a decoder manifold and the fraction of a vector that lies in them.

The image manifold is the range of a decoder ``D: R^k -> R^d``. Its tangent space at ``x = D(z)`` is the
column space of the Jacobian ``J = dD/dz (z)``, a ``d × k`` matrix.

- ``decoder_jacobian``: forward mode, ``vmap(jacfwd)``: per sample one primal pass plus k tangent
  passes, batched over samples (the paper's code did ``d`` reverse passes per image: 1024 on MNIST32,
  65 536 on MNIST256). Measured on 2 CPU threads it costs 1.1–1.2× one plain forward pass of the
  decoder on the same n·k latents.
- ``orthonormal_basis``: an orthonormal basis of ``col(J)`` with an explicit relative rank tolerance;
  directions with singular value ``<= rtol · s_max`` (collapsed β-TCVAE latents, dead ReLU paths) are
  dropped and the numerical rank is recorded. Rows of the returned basis beyond the rank are zero, so
  every basis has shape ``(k, d)``. Methods:

  * ``qr`` (default): Householder QR of ``J`` in its own dtype, then a **float64** SVD of the ``k × k``
    factor ``R``; the rank is decided on R's singular values. Householder QR is backward stable, so
    these equal J's singular values to about ``ε(dtype) · s_max`` (6e-8 relative in float32), four
    orders of magnitude below the default ``rtol = 1e-3``; ``rtol`` below 1e-5 switches to ``svd``.
    At d = 65 536 it is 5× cheaper than a float64 SVD of J.
  * ``svd``: a float64 SVD of ``J`` (reference).
  * rank rule ``scipy_orth_float32``: the paper's code, ``scipy.linalg.orth`` on the float32 Jacobian,
    i.e. a float32 SVD with cutoff ``ε32 · max(d, k) · s_max`` (1.2e-4 relative at d = 1024, 7.8e-3 at
    d = 65 536). For comparison with the original results only.

- ``fraction_in_tangent_space``: ``||P_T v|| / ||v||`` with ``P_T = U^T U`` for orthonormal rows ``U``.
- ``random_baseline``: ``sqrt(k / d)``, the expected fraction of an isotropic random vector (to first
  order; the exact mean is slightly lower).

Writing the bases of many samples into a store is ``manifold_xai.tangent.basis_store``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported by the functions that run models: the fraction needs NumPy only
    import torch


DEFAULT_RTOL = 1e-3
QR_MIN_RTOL = (
    1e-5  # below this, float32 QR's backward error could move a singular value across the cutoff
)
RANK_RULES = ("rtol", "scipy_orth_float32")
METHODS = ("qr", "svd")
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def decoder_jacobian(
    decode: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> torch.Tensor:
    """Jacobians of ``decode`` at each latent: ``z (n, k)`` → ``J (n, d, k)`` in ``z``'s dtype.

    Column ``j`` of ``J[i]`` is the JVP of ``decode`` at ``z[i]`` along the unit vector ``e_j``
    (``torch.func.jacfwd``, vectorised over samples with ``vmap``). ``decode`` must treat batch rows
    independently (eval mode: no batch-norm statistics, no dropout).
    """
    import torch

    def single(v: torch.Tensor) -> torch.Tensor:
        return decode(v.unsqueeze(0)).reshape(-1)

    return torch.func.vmap(torch.func.jacfwd(single))(z)  # (n, d, k)


def orthonormal_basis(
    jacobian: torch.Tensor,
    rtol: float = DEFAULT_RTOL,
    method: str = "qr",
    rank_rule: str = "rtol",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Orthonormal bases of the column spaces of ``jacobian (n, d, k)`` (see the module docstring).

    Returns ``basis (n, k, d)`` in the Jacobian's dtype whose first ``rank[i]`` rows are an orthonormal
    basis of ``col(J[i])`` and whose remaining rows are zero, ``singular_values (n, k) float64``
    (descending), and ``rank (n,) int64`` (0 for a zero Jacobian).
    """
    import torch

    if not 0 < rtol < 1:
        raise ValueError(f"rank tolerance must lie in (0, 1), got {rtol}")
    if method not in METHODS:
        raise ValueError(f"unknown orthonormalisation method {method!r}; known: {METHODS}")
    if rank_rule not in RANK_RULES:
        raise ValueError(f"unknown rank rule {rank_rule!r}; known: {RANK_RULES}")
    n, d, k = jacobian.shape
    out_dtype = jacobian.dtype
    if rank_rule == "scipy_orth_float32":
        u, s, _ = torch.linalg.svd(jacobian.float(), full_matrices=False)
        keep = s > FLOAT32_EPS * max(d, k) * s[:, :1]
        return (u * keep.unsqueeze(1)).transpose(1, 2).to(out_dtype), s.double(), keep.sum(1)
    if method == "svd" or rtol < QR_MIN_RTOL or d < k:
        u, s, _ = torch.linalg.svd(jacobian.to(torch.float64), full_matrices=False)
        keep = s > rtol * s[:, :1]
        return (u * keep.unsqueeze(1)).transpose(1, 2).to(out_dtype), s, keep.sum(1)
    q, r = torch.linalg.qr(
        jacobian
    )  # q (n, d, k) orthonormal columns spanning col(J) (when full rank)
    u_r, s, _ = torch.linalg.svd(r.to(torch.float64))  # J = q r = (q u_r) diag(s) v^T
    keep = s > rtol * s[:, :1]
    rank = keep.sum(1)
    deficient = (rank < k).nonzero().flatten()
    if len(deficient):  # rotate onto the kept singular directions; full-rank samples keep q itself
        rotation = (u_r[deficient] * keep[deficient].unsqueeze(1)).to(q.dtype)
        q[deficient] = q[deficient] @ rotation
    return q.transpose(1, 2), s, rank


CPU_BATCH_BYTES = (
    32 << 20
)  # measured: batches whose Jacobians fit in ~32 MiB run fastest on CPU (cache)
CPU_MAX_BATCH = 64


def auto_batch_size(k: int, d: int, device: torch.device, budget_bytes: int | None = None) -> int:
    """Samples per Jacobian batch.

    CPU: a batch whose float32 Jacobian is about 32 MiB, at most 64 samples: on 2 threads this was
    fastest (d=1024: 64 samples, 1.0 ms/sample vs 1.25 at 256; d=65 536: 12 samples, 2.8 ms vs 4.4 at 64).
    CUDA: as many as fit in half the free memory at about ``8 · k · d · 4`` bytes per sample (Jacobian,
    jacfwd's tangent activations, QR factors). ``budget_bytes`` overrides the memory budget.
    """
    import torch

    per_sample = 8 * k * d * 4
    if device.type == "cuda" and budget_bytes is None:
        budget_bytes = torch.cuda.mem_get_info(device)[0] // 2
        return int(max(1, min(4096, budget_bytes // per_sample)))
    budget = min(available_memory_bytes() // 4, 1 << 30) if budget_bytes is None else budget_bytes
    by_cache = max(1, CPU_BATCH_BYTES // (k * d * 4))
    return int(max(1, min(CPU_MAX_BATCH, by_cache, budget // per_sample)))


def prepare_decoder(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, frozen parameters and channels-last weights: the Jacobians are bit-identical and the
    transposed convolutions run ~15% faster on CPU (measured, Burgess decoder, 2 threads)."""
    import torch

    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(memory_format=torch.channels_last)


def available_memory_bytes() -> int:
    """Free RAM as the kernel reports it (``MemAvailable``), or the physical pages available."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def fraction_in_tangent_space(basis: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``||P_T v|| / ||v||`` per sample, in [0, 1], as float64.

    ``basis (n, k, d)`` with orthonormal (or zero) rows, ``vectors (..., n, d)`` (leading axes, e.g. methods,
    broadcast). Computed in the inputs' precision (float32 for float32 stores, relative error ~1e-7; float16
    bases in float32) as one ``(k, d) @ (d, m)`` product per sample, so the basis is read once for all
    vectors. A zero vector has no direction, and an all-zero basis (rank 0) no tangent space: both give
    NaN, never 0.
    """
    basis, vectors = np.asarray(basis), np.asarray(vectors)
    dtype = np.result_type(basis.dtype, vectors.dtype, np.float32)
    lead = vectors.shape[:-2]
    n, d = vectors.shape[-2:]
    columns = np.moveaxis(vectors.reshape(-1, n, d), 0, -1).astype(dtype, copy=False)  # (n, d, m)
    coefficients = np.matmul(basis.astype(dtype, copy=False), columns)  # (n, k, m)
    tangent_norm = np.sqrt(np.einsum("nkm,nkm->mn", coefficients, coefficients)).astype(np.float64)
    norm = np.sqrt(np.einsum("nd,nd->n", *(columns.transpose(2, 0, 1).reshape(-1, d),) * 2))
    norm = norm.reshape(-1, n).astype(np.float64)
    defined = np.any(basis != 0, axis=(1, 2))  # (n,): rank > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where((norm > 0) & defined, tangent_norm / norm, np.nan)
    return np.clip(fraction, 0.0, 1.0).reshape(*lead, n)


def project(basis: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``vectors (..., n, d)`` into the tangent part ``P_T v`` and the orthogonal part ``v - P_T v``."""
    basis = np.asarray(basis, dtype=np.float64)
    vectors = np.asarray(vectors, dtype=np.float64)
    tangent = np.einsum("nkd,...nk->...nd", basis, np.einsum("nkd,...nd->...nk", basis, vectors))
    return tangent, vectors - tangent


def random_baseline(k: int, d: int) -> float:
    """``sqrt(k / d)``: the fraction of a random direction in a k-dimensional subspace of R^d."""
    return math.sqrt(k / d)
