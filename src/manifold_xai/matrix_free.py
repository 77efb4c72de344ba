"""Matrix-free projection onto a decoder's tangent space: ``P_T e`` without materialising ``J``.

For large latents (the paper's medical autoencoders: k = 6272–7168, d = 150 528–172 032) a dense
``k × d`` basis is gigabytes per image. Instead we solve the least-squares problem

    v* = argmin_v ||J v − e||²  (+ damp² ||v||²)

with LSQR (scipy), whose only access to ``J`` is ``J v`` (a JVP of the decoder) and ``Jᵀ u`` (a VJP).
Then ``P_T e = J v*`` and the fraction is ``||J v*|| / ||e||``. LSQR converges at a rate set by the
condition number of ``J`` on its range; directions whose singular value is tiny (dead ReLU paths,
collapsed latents: below about ``atol · s_max``) are not resolved, which matches the rank truncation of
the dense basis path (``tangent.orthonormal_basis``) whenever the spectrum has a gap there. ``damp > 0``
adds Tikhonov filtering ``s² / (s² + damp²)`` (relative to ``s_max``) for spectra without a gap.

The JVP and VJP are linearised once per latent (``torch.func.linearize`` / ``torch.func.vjp``) and
reused for every iteration and every attribution method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, lsqr

log = logging.getLogger(__name__)

DEFAULT_ATOL = 1e-7
DEFAULT_MAX_ITER = 2000


@dataclass
class ProjectionResult:
    tangent: np.ndarray  # (m, d) float64: P_T e for each vector
    fraction: np.ndarray  # (m,) float64: ||P_T e|| / ||e|| (NaN for a zero vector)
    iterations: np.ndarray  # (m,) int: LSQR iterations used
    converged: np.ndarray  # (m,) bool: stopped by tolerance rather than by max_iter


def decoder_operator(
    decode: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> LinearOperator:
    """``J`` at latent ``z (k,)`` as a scipy ``LinearOperator`` of shape ``(d, k)`` (float64 in and out;
    the decoder runs in its own dtype on its own device)."""

    def flat(v: torch.Tensor) -> torch.Tensor:
        return decode(v.unsqueeze(0)).reshape(-1)

    z = z.detach()
    with torch.no_grad():
        out, jvp_fn = torch.func.linearize(flat, z)
        _, vjp_fn = torch.func.vjp(flat, z)
    d, k = out.numel(), z.numel()
    dtype, device = z.dtype, z.device

    def matvec(v: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.as_tensor(np.ascontiguousarray(v).reshape(k), dtype=dtype, device=device)
            return jvp_fn(t).double().cpu().numpy()

    def rmatvec(u: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.as_tensor(np.ascontiguousarray(u).reshape(d), dtype=dtype, device=device)
            return vjp_fn(t)[0].double().cpu().numpy()

    return LinearOperator((d, k), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


def largest_singular_value(op: LinearOperator, iterations: int = 30, seed: int = 0) -> float:
    """Power iteration on ``JᵀJ``: an estimate of ``s_max`` (for relative damping)."""
    v = np.random.default_rng(seed).standard_normal(op.shape[1])
    s = 0.0
    for _ in range(iterations):
        v /= np.linalg.norm(v)
        w = op.rmatvec(op.matvec(v))
        s = float(np.sqrt(np.linalg.norm(w)))
        v = w
    return s


def project_matrix_free(
    decode: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    vectors: np.ndarray,
    *,
    damp: float = 0.0,
    atol: float = DEFAULT_ATOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> ProjectionResult:
    """Project ``vectors (m, d)`` onto the tangent space of ``decode`` at ``z (k,)`` with LSQR.

    ``damp`` is relative to the largest singular value of ``J`` (0: plain least squares); ``atol`` is
    LSQR's ``atol`` and ``btol``.
    """
    op = decoder_operator(decode, z)
    vectors = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    if vectors.shape[1] != op.shape[0]:
        raise ValueError(
            f"vectors have {vectors.shape[1]} entries, the decoder outputs {op.shape[0]}"
        )
    abs_damp = damp * largest_singular_value(op) if damp > 0 else 0.0
    m = len(vectors)
    tangent = np.zeros_like(vectors)
    iterations = np.zeros(m, dtype=np.int64)
    converged = np.zeros(m, dtype=bool)
    for i, e in enumerate(vectors):
        if not np.any(e):
            continue
        v, istop, itn = lsqr(op, e, damp=abs_damp, atol=atol, btol=atol, iter_lim=max_iter)[:3]
        tangent[i] = op.matvec(v)
        iterations[i], converged[i] = itn, istop in (1, 2, 4, 5)
        if not converged[i]:
            log.warning("LSQR stopped after %d iterations without reaching atol=%g", itn, atol)
    norms = np.linalg.norm(vectors, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(norms > 0, np.linalg.norm(tangent, axis=1) / norms, np.nan)
    return ProjectionResult(tangent, np.clip(fraction, 0.0, 1.0), iterations, converged)
