"""Matrix-free tangent spaces of a decoder: the dense path's subspace without a ``k × d`` matrix.

The dense path (``tangent.bases.orthonormal_basis``) keeps the left singular vectors ``u_i`` of the Jacobian
``J = dD/dz`` (``d × k``) with ``s_i > rtol · s_max``. For latents too large for a ``k × d`` basis
(the paper's medical autoencoders: k = 6272, d = 150 528, 3.8 GB per image in float32) we compute the
**same** subspace from the Gram matrix ``G = JᵀJ`` (``k × k``), built column block by column block as
``G[:, b] = Jᵀ (J E_b)``: ``k`` JVPs and ``k`` VJPs (``torch.func.linearize`` / ``torch.func.vjp``,
batched with ``vmap``), memory ``k² + block · d`` floats.

``G = V diag(s²) Vᵀ`` has the same singular values and right singular vectors as ``J``, and
``u_i = J v_i / s_i``. Keeping ``s_i > rtol · s_max`` and projecting with

    P_T e = J V_r diag(1 / s_r²) V_rᵀ Jᵀ e           (one VJP and one JVP per vector)

is exactly the dense path's projection. Two factorisations decide it:

- **Cholesky certificate** (the common case, ``k³/3`` flops): if ``G − τ² I`` with ``τ = rtol · s_max``
  is positive definite, every singular value is above the cut-off, the rank is ``k`` and
  ``P_T e = J G⁻¹ Jᵀ e`` through the Cholesky factor of ``G``.
- otherwise the eigenpairs of ``G`` above the cut-off (LAPACK ``syevr``; its tridiagonal reduction,
  ``4k³/3`` flops, dominates) and the truncated formula.

The Gram squares the condition number: its eigenvalues carry an absolute error of about
``ε · s_max²`` in the decoder's dtype, i.e. a relative error of ``ε / rtol²`` at the cut-off (0.12 for
float32 at rtol = 1e-3, 2e-10 for float64). The pipeline therefore runs matrix-free decoders in
float64 (``tangent.matrix_free_dtype``). ``s_max²`` is the largest eigenvalue of ``G`` by Lanczos
(ARPACK, relative tolerance 1e-12) before the Cholesky route is tried. A Gram matrix that is not finite marks the sample as not converged: its
fraction is NaN.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg
import torch

log = logging.getLogger(__name__)

DEFAULT_BLOCK = 64


@dataclass
class JacobianFactor:
    """The tangent space of a decoder at one latent (see the module docstring).

    ``rank`` directions with singular value ``> rtol · s_max``; ``singular_values (k,)`` descending
    (float64; NaN when not converged, past ``s_max`` on the Cholesky route and below the cut-off on the
    ``eigh`` route, which do not compute them); ``method`` is ``cholesky`` or ``eigh``.
    """

    jvp: Callable[[np.ndarray], np.ndarray]  # (m, k) -> (m, d)
    vjp: Callable[[np.ndarray], np.ndarray]  # (m, d) -> (m, k)
    rank: int
    converged: bool
    singular_values: np.ndarray
    method: str
    _solve: Callable[[np.ndarray], np.ndarray] | None = None  # (k, m) -> G_r^+ (k, m)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """``P_T e`` for ``vectors (m, d)`` → ``(m, d) float64``; NaN rows when undefined."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if not self.converged or self.rank == 0:
            return np.full_like(vectors, np.nan)
        coefficients = self._solve(self.vjp(vectors).T).T  # (m, k)
        return self.jvp(coefficients)


def gram_matrix(jvp, vjp, k: int, block_size: int = DEFAULT_BLOCK) -> np.ndarray:
    """``JᵀJ (k, k) float64`` from batched JVPs and VJPs, ``block_size`` columns at a time; memory one
    ``k × k`` array plus a block (no identity matrix, symmetrised in place)."""
    gram = np.empty((k, k), dtype=np.float64)
    for start in range(0, k, block_size):
        stop = min(k, start + block_size)
        unit = np.zeros((stop - start, k))
        unit[np.arange(stop - start), np.arange(start, stop)] = 1.0
        gram[:, start:stop] = vjp(jvp(unit)).T
    _symmetrise(gram)
    return gram


def _symmetrise(gram: np.ndarray, block: int = 1024) -> None:
    """``gram ← (gram + gramᵀ) / 2`` in place, one ``block × block`` tile at a time."""
    k = gram.shape[0]
    for i in range(0, k, block):
        for j in range(i, k, block):
            tile = 0.5 * (gram[i : i + block, j : j + block] + gram[j : j + block, i : i + block].T)
            gram[i : i + block, j : j + block] = tile
            gram[j : j + block, i : i + block] = tile.T


def _linearised(decode: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor):
    """Batched ``(m, k) → (m, d)`` JVP and ``(m, d) → (m, k)`` VJP of ``decode`` at ``z (k,)``, NumPy
    float64 in and out (the decoder runs in ``z``'s dtype on ``z``'s device)."""

    def flat(v: torch.Tensor) -> torch.Tensor:
        return decode(v.unsqueeze(0)).reshape(-1)

    z = z.detach()
    with torch.no_grad():
        out, jvp_fn = torch.func.linearize(flat, z)
        _, vjp_fn = torch.func.vjp(flat, z)
    batched_jvp = torch.func.vmap(jvp_fn)
    batched_vjp = torch.func.vmap(lambda u: vjp_fn(u)[0])

    def as_tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=z.dtype, device=z.device)

    def jvp(v: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return batched_jvp(as_tensor(v)).double().cpu().numpy()

    def vjp(u: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return batched_vjp(as_tensor(u)).double().cpu().numpy()

    return jvp, vjp, out.numel()


def largest_eigenvalue(gram: np.ndarray) -> float:
    """The largest eigenvalue of a symmetric ``gram``: Lanczos (ARPACK) to 1e-12 relative, dense for k < 8."""
    if gram.shape[0] < 8:
        return float(np.linalg.eigvalsh(gram)[-1])
    v0 = np.ones(gram.shape[0])
    return float(
        scipy.sparse.linalg.eigsh(
            gram, k=1, which="LA", tol=1e-12, v0=v0, return_eigenvectors=False
        )[0]
    )


def factor_gram(gram: np.ndarray, rtol: float, s_max: float | None = None):
    """Decide the rank of ``gram = JᵀJ`` at cut-off ``rtol · s_max`` and return
    ``(rank, converged, singular_values, method, solve)`` (see the module docstring).

    ``gram`` is overwritten (it becomes the factor's workspace); peak memory is two ``k × k`` arrays.
    On the ``eigh`` route only the eigenpairs above the cut-off are computed (LAPACK ``syevr``), so the
    reported singular values below it are NaN, as on the Cholesky route."""
    k = gram.shape[0]
    if not np.all(np.isfinite(gram)):
        return 0, False, np.full(k, np.nan), "eigh", None
    if s_max is None:
        s_max = float(np.sqrt(max(largest_eigenvalue(gram), 0.0)))
    singular_values = np.full(k, np.nan)
    singular_values[0] = s_max
    if s_max <= 0:
        return 0, True, np.zeros(k), "eigh", None
    cut = (rtol * s_max) ** 2
    diagonal = np.diag_indices(k)
    shifted = gram.copy()
    shifted[diagonal] -= cut
    try:
        scipy.linalg.cholesky(shifted, lower=True, overwrite_a=True, check_finite=False)
        full_rank = True
    except np.linalg.LinAlgError:
        full_rank = False
    del shifted
    if full_rank:  # every eigenvalue above the cut-off: full rank
        factor = scipy.linalg.cho_factor(gram, lower=True, overwrite_a=True, check_finite=False)
        return k, True, singular_values, "cholesky", lambda w: scipy.linalg.cho_solve(factor, w)
    eigenvalues, kept = scipy.linalg.eigh(
        gram,
        subset_by_value=(cut, np.inf),
        driver="evr",
        overwrite_a=True,
        check_finite=False,
    )
    eigenvalues, kept = eigenvalues[::-1], kept[:, ::-1]
    rank = int(eigenvalues.size)
    singular_values[:rank] = np.sqrt(eigenvalues)
    inverse = 1.0 / eigenvalues
    return rank, True, singular_values, "eigh", lambda w: kept @ (inverse[:, None] * (kept.T @ w))


def factor_jacobian(
    decode: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    *,
    rtol: float,
    block_size: int = DEFAULT_BLOCK,
) -> JacobianFactor:
    """The tangent space of ``decode`` at ``z (k,)`` with the dense path's rank cut-off ``rtol``."""
    jvp, vjp, _ = _linearised(decode, z)
    gram = gram_matrix(jvp, vjp, z.numel(), block_size)
    rank, converged, singular_values, method, solve = factor_gram(gram, rtol)
    if not converged:
        log.warning(
            "the decoder's Gram matrix at this latent is not finite: tangent space undefined"
        )
    return JacobianFactor(jvp, vjp, rank, converged, singular_values, method, solve)
