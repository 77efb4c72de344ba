"""One tangent-space interface, whichever way the tangent spaces were computed.

A ``TangentSpace`` holds the tangent spaces of a manifold in ``R^d`` (``d`` pixels, channels × height ×
width flattened) at ``n`` samples, each of dimension at most ``k``. Every implementation keeps the
**same subspace**: the span of the left singular vectors of the Jacobian (or of the local data
differences) whose singular value exceeds ``rtol · s_max`` at that sample, so its numerical ``rank`` is
at most ``k``.

- ``BasisTangentSpace``: stored orthonormal bases ``(n, k, d)`` (decoder Jacobians by QR/SVD, the exact
  torus renderer, local PCA: ``tangent.basis_store.write_basis_store``), rows past the rank zero.
- ``MatrixFreeTangentSpace``: a decoder and its latents ``(n, k)``; the same subspace from the decoder's
  JVPs and VJPs alone (``manifold_xai.tangent.matrix_free``), for images where a ``k × d`` basis would not fit.

Both give ``fractions(vectors)`` = ``||P_T v|| / ||v||`` and ``project(vectors)`` = ``P_T v``. A sample
whose tangent space is **undefined** (rank 0, or a factorisation that did not converge) has fraction
NaN and a NaN projection: it is counted, never averaged in as 0. A zero vector also has fraction NaN.

``open_tangent_space(path, manifold=...)`` opens a tangent store as the right implementation, so no
caller branches on how the store was written.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from manifold_xai.tangent.bases import FLOAT32_EPS, fraction_in_tangent_space, random_baseline


def sample_axis(shape: tuple[int, ...], n: int, d: int) -> int | None:
    """The axis of ``shape`` that runs over ``n`` samples, the axes after it holding the ``d`` values of a
    vector; None for a single vector of a single sample (``n == 1``, no sample axis). The vector is read as
    flat ``(d,)``, else as an image ``(c, h, w)``, else ``(h, w)``, else any trailing axes: so at ``n = 1``
    ``(m, 1, d)`` is m vectors of the one sample and ``(m, 1, 1, h, w)`` m one-channel images of it (not
    m × 1 samples of ``(1, h, w)``)."""
    order = [p for p in (1, 3, 2) if p <= len(shape)] + list(range(4, len(shape) + 1))
    for pixels in order:
        if math.prod(shape[len(shape) - pixels :]) != d:
            continue
        axis = len(shape) - pixels - 1
        if axis < 0 and n == 1:
            return None
        if axis >= 0 and shape[axis] == n:
            return axis
    raise ValueError(
        f"vectors of shape {tuple(shape)} do not match {n} tangent spaces in R^{d} "
        f"(expected (..., {n}, {d}) or (..., {n}, c, h, w))"
    )


def _as_rows(vectors, n: int, d: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """``vectors (..., n, *pixels)`` with ``prod(pixels) = d`` → ``(m, n, d)`` and the leading shape."""
    vectors = np.asarray(vectors)
    axis = sample_axis(vectors.shape, n, d)
    lead = vectors.shape[:axis] if axis is not None else ()
    return vectors.reshape(-1, n, d), lead


class TangentSpace(ABC):
    """Tangent spaces at ``n`` samples in ``R^d``, each of rank at most ``k`` (see the module docstring).

    ``samples`` arguments select samples (indices into ``0 … n-1``, default all); ``vectors`` are
    ``(..., len(samples), d)`` or ``(..., len(samples), c, h, w)`` float arrays.
    """

    n: int
    k: int
    d: int

    @property
    def baseline(self) -> float:
        """``sqrt(k / d)``: the fraction of an isotropic random vector in a k-dimensional subspace."""
        return random_baseline(self.k, self.d)

    def _samples(self, samples) -> np.ndarray:
        if samples is None:
            return np.arange(self.n)
        samples = np.asarray(samples, dtype=np.int64).reshape(-1)
        if len(samples) and (samples.min() < 0 or samples.max() >= self.n):
            raise IndexError(f"samples out of range 0…{self.n - 1}")
        return samples

    @abstractmethod
    def rank(self, samples=None) -> np.ndarray:
        """Numerical rank per sample ``(b,) int64``."""

    def converged(self, samples=None) -> np.ndarray:
        """Whether the tangent space at each sample was computed to tolerance ``(b,) bool``."""
        return np.ones(len(self._samples(samples)), dtype=bool)

    def defined(self, samples=None) -> np.ndarray:
        """``(b,) bool``: rank > 0 and converged."""
        return (self.rank(samples) > 0) & self.converged(samples)

    @abstractmethod
    def _project_rows(self, rows: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """``rows (m, b, d) float64`` → ``P_T`` of each ``(m, b, d) float64`` (NaN where undefined)."""

    def project(self, vectors, samples=None) -> np.ndarray:
        """The tangent part ``P_T v`` of ``vectors``, same shape, float64 (NaN where undefined)."""
        samples = self._samples(samples)
        shape = np.shape(vectors)
        rows, _ = _as_rows(vectors, len(samples), self.d)
        return self._project_rows(rows.astype(np.float64), samples).reshape(shape)

    def decompose(self, vectors, samples=None) -> tuple[np.ndarray, np.ndarray]:
        """``(P_T v, v - P_T v)``, each of ``vectors``' shape, float64."""
        tangent = self.project(vectors, samples)
        return tangent, np.asarray(vectors, dtype=np.float64) - tangent

    def fractions(self, vectors, samples=None) -> np.ndarray:
        """``||P_T v|| / ||v||`` per vector ``(..., b) float64`` in [0, 1]; NaN where the tangent space is
        undefined or the vector is zero."""
        samples = self._samples(samples)
        rows, lead = _as_rows(vectors, len(samples), self.d)
        tangent = self._project_rows(rows.astype(np.float64), samples)
        norm = np.linalg.norm(rows.astype(np.float64), axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(norm > 0, np.linalg.norm(tangent, axis=-1) / norm, np.nan)
        return np.clip(fraction, 0.0, 1.0).reshape(*lead, len(samples))


class BasisTangentSpace(TangentSpace):
    """Stored orthonormal bases: ``basis (n, k, d)`` (NumPy or Zarr array; rows past the rank zero) and
    ``rank (n,)``. Reads only the selected samples' bases."""

    def __init__(self, basis, rank=None):
        self.basis = basis
        self.n, self.k, self.d = (int(s) for s in basis.shape)
        if rank is None:
            rank = (
                np.linalg.matrix_rank(np.asarray(basis, dtype=np.float64))
                if self.n
                else np.zeros(0)
            )
        self._rank = np.asarray(rank, dtype=np.int64).reshape(self.n)

    def rank(self, samples=None) -> np.ndarray:
        return self._rank[self._samples(samples)]

    def bases(self, samples=None) -> np.ndarray:
        """``(b, k, d)`` bases of the selected samples (their own dtype)."""
        samples = self._samples(samples)
        if isinstance(self.basis, np.ndarray):
            return self.basis[samples]
        if len(samples) and np.array_equal(samples, np.arange(samples[0], samples[-1] + 1)):
            return np.asarray(self.basis[int(samples[0]) : int(samples[-1]) + 1])
        return np.asarray(self.basis.get_orthogonal_selection((samples, slice(None), slice(None))))

    def _project_rows(self, rows: np.ndarray, samples: np.ndarray) -> np.ndarray:
        basis = self.bases(samples).astype(np.float64)
        tangent = np.einsum("nkd,mnk->mnd", basis, np.einsum("nkd,mnd->mnk", basis, rows))
        tangent[:, self._rank[samples] == 0] = np.nan
        return tangent

    def fractions(self, vectors, samples=None) -> np.ndarray:
        samples = self._samples(samples)
        rows, lead = _as_rows(vectors, len(samples), self.d)
        # a rank-0 sample has an all-zero basis (the store's convention): fraction_in_tangent_space gives NaN
        fraction = fraction_in_tangent_space(self.bases(samples), rows)
        return fraction.reshape(*lead, len(samples))


class MatrixFreeTangentSpace(TangentSpace):
    """A decoder's tangent spaces at ``latents (n, k)`` without any ``k × d`` matrix.

    Per sample, ``manifold_xai.matrix_free.factor_jacobian`` forms ``JᵀJ`` (k × k) from JVPs and VJPs and
    keeps the eigen-directions with singular value ``> rtol · s_max``, the subspace the dense basis path
    keeps; projections are then one VJP and one JVP per vector. The last sample's factor is cached.
    ``decode`` maps ``(b, k)`` latents (``dtype``) to ``(b, *image)`` images.
    """

    def __init__(
        self,
        decode: Callable,
        latents,
        d: int,
        *,
        rtol: float,
        device=None,
        dtype: str = "float64",
        block_size: int = 64,
    ):
        self.decode, self.latents = decode, latents
        self.n, self.k = (int(s) for s in latents.shape)
        self.d, self.rtol, self.device, self.dtype = int(d), float(rtol), device, dtype
        self.block_size = block_size
        self._rank = np.full(self.n, -1, dtype=np.int64)
        self._converged = np.zeros(self.n, dtype=bool)
        self._cache: tuple[int, object] | None = None

    def factor(self, i: int):
        """The ``JacobianFactor`` at sample ``i`` (computed once per consecutive use)."""
        from manifold_xai.tangent.matrix_free import factor_jacobian

        if self._cache is None or self._cache[0] != i:
            import torch

            dtype = getattr(torch, self.dtype)
            z = torch.as_tensor(np.asarray(self.latents[i]), dtype=dtype, device=self.device)
            factor = factor_jacobian(self.decode, z, rtol=self.rtol, block_size=self.block_size)
            self._rank[i], self._converged[i] = factor.rank, factor.converged
            self._cache = (i, factor)
        return self._cache[1]

    def rank(self, samples=None) -> np.ndarray:
        samples = self._samples(samples)
        for i in samples[self._rank[samples] < 0]:
            self.factor(int(i))
        return self._rank[samples]

    def converged(self, samples=None) -> np.ndarray:
        samples = self._samples(samples)
        self.rank(samples)
        return self._converged[samples]

    def _project_rows(self, rows: np.ndarray, samples: np.ndarray) -> np.ndarray:
        tangent = np.empty_like(rows)
        for j, i in enumerate(samples):
            tangent[:, j] = self.factor(int(i)).project(rows[:, j])
        return tangent


def open_tangent_space(path, *, manifold=None, device=None) -> TangentSpace:
    """The tangent store at ``path`` as a ``TangentSpace``.

    A store written with bases opens as ``BasisTangentSpace`` (bases read lazily from Zarr); one written
    for matrix-free projection (attrs ``projection: matrix_free``) needs the manifold model (a path to
    ``model.pt`` or a loaded model with ``decode``), whose decoder is run in the store's
    ``matrix_free_dtype`` on ``device``: a ``torch.device``, or a request such as ``"auto"`` or
    ``"cuda:1"`` (``runtime.resolve_device``) resolved only for such a store, so that opening a store
    with bases (figures, the alignment reduction) never imports torch.
    """
    from manifold_xai.store import open_store

    store = open_store(path, required=("sample_index",))
    attrs = store.attrs
    if attrs.get("projection") != "matrix_free":
        store = open_store(path, required=("basis", "rank"))
        return BasisTangentSpace(store["basis"], np.asarray(store["rank"][...]))
    store = open_store(path, required=("latents",))
    if manifold is None:
        raise ValueError(
            f"{path} needs matrix-free projection: pass the manifold model it was made from"
        )
    import torch

    from manifold_xai.runtime import resolve_device
    from manifold_xai.tangent.bases import prepare_decoder

    if isinstance(device, str):
        device = resolve_device(device)

    if not hasattr(manifold, "decode"):
        from manifold_xai.models.io import load_model

        manifold = load_model(manifold, device or torch.device("cpu"))
    dtype = str(attrs.get("matrix_free_dtype", "float64"))
    rtol = float(attrs["rank_rtol"])
    if attrs.get("rank_rule") == "scipy_orth_float32":  # the paper's code: orth's float32 cut-off
        rtol = FLOAT32_EPS * max(int(attrs["d"]), int(attrs["k"]))
    model = prepare_decoder(manifold).to(dtype=getattr(torch, dtype))
    return MatrixFreeTangentSpace(
        model.decode,
        store["latents"],
        int(attrs["d"]),
        rtol=rtol,
        device=device,
        dtype=dtype,
        block_size=int(attrs.get("matrix_free_block_size", 64)),
    )


def uses_matrix_free(tangent: dict, k: int, d: int) -> bool:
    """Whether a dataset's ``tangent:`` block projects matrix-free at ``k`` latents and ``d`` pixels:
    ``projection: matrix_free``, or ``auto`` with ``k · d`` above ``matrix_free_above``."""
    return tangent["projection"] == "matrix_free" or (
        tangent["projection"] == "auto" and k * d > tangent["matrix_free_above"]
    )


def decoder_tangent_space(
    decoder,
    latents,
    *,
    device,
    rtol: float,
    method: str = "qr",
    rank_rule: str = "rtol",
    matrix_free: bool = False,
    matrix_free_dtype: str = "float64",
    batch_size: int = 32,
) -> TangentSpace:
    """The tangent spaces of ``decoder``'s image at ``latents (n, k)``, by the definition of the tangent
    stores (``tangent.bases.decoder_bases`` with the same ``rtol``, ``method`` and ``rank_rule``).

    ``decoder``: a prepared module (``tangent.bases.prepare_decoder``) with ``decode`` or mapping latents to
    images itself; it is not changed. Dense: bases computed now, ``batch_size`` latents at a time
    (``n · k · d`` float32 in memory). ``matrix_free``: a float64 copy of the decoder projects each sample
    from JVPs and VJPs when it is first used.
    """
    import copy

    import torch

    from manifold_xai.tangent.basis_store import decoder_bases

    latents = np.asarray(latents, dtype=np.float32)
    decode = decoder.decode if hasattr(decoder, "decode") else decoder
    if matrix_free:
        dtype = getattr(torch, matrix_free_dtype)
        with torch.no_grad():
            model = copy.deepcopy(decoder).to(device=device, dtype=dtype)
            decode = model.decode if hasattr(model, "decode") else model
            probe = decode(torch.as_tensor(latents[:1], dtype=dtype, device=device))
        return MatrixFreeTangentSpace(
            decode,
            latents,
            math.prod(probe.shape[1:]),
            rtol=rtol,
            device=device,
            dtype=matrix_free_dtype,
        )
    parts = [
        decoder_bases(
            decode,
            latents[start : start + batch_size],
            device,
            rtol=rtol,
            method=method,
            rank_rule=rank_rule,
        )
        for start in range(0, len(latents), batch_size)
    ]
    basis = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
    return BasisTangentSpace(basis, np.concatenate([p[2] for p in parts]))
