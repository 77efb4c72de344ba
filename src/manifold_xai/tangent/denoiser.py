"""Tangent spaces without a decoder: the leading singular directions of a denoiser's Jacobian.

At a small noise level σ the optimal denoiser ``D(y) = E[x | y]`` is close to the projection onto the
data manifold: its Jacobian ``J = ∂D/∂y`` (``d × d``) equals ``Cov[x | y] / σ²``, symmetric, with
eigenvalues near 1 along the manifold (the data spread much more than σ there) and near 0 across it
(Kadkhodaie et al., ICLR 2024). So the leading singular vectors of ``J`` span the tangent space, and the
number of singular values above one half is the local intrinsic dimension: for data spread with variance
``s²`` along a direction, the optimal linear gain is ``s² / (s² + σ²)``, which exceeds ½ exactly when the
data spread more than the noise (``s > σ``). A trained denoiser's Jacobian is only nearly symmetric; its
singular value decomposition is defined either way and equals the eigendecomposition when it is.

``jacobian_singular`` finds the leading ``max_k`` singular triplets of ``J`` at each image **matrix-free**:
a randomised subspace iteration (Halko, Martinsson and Tropp 2011, Alg. 4.4) that only applies ``J`` (one
JVP) and ``Jᵀ`` (one VJP) to ``l = max_k + oversample`` vectors per image, ``2 + 2·power_iterations``
passes in all, never the ``d × d`` matrix. The start vectors of an image are drawn from
``numpy.random.default_rng([seed, sample_index])``, so an image's result does not depend on the batch it
is in. The Jacobian is taken at the clean image with the network conditioned on σ.

The per-image dimension k is read from the spectrum by a rule of ``tangent.dimension`` (``threshold``:
the count above ½, see above; ``gap``: the largest ratio of consecutive singular values; ``flipd``: the
FLIPD estimate below), NaN with a reason where the rule cannot decide (no gap; every computed value above
½, so the dimension is at least ``max_k``), never the cap; a fixed integer ``k`` in the config skips the
rule. ``denoiser_store`` writes a tangent store in the layout of ``tangent.zarr`` (``basis (n, max_k, d)``,
zero past each image's k, all zero where k is undecided; ``rank (n,)``; ``singular_values (n, max_k)``,
the spectrum) with, per image, ``singular_vectors (n, max_k, d)`` (all of them, for the angle at a known
k), ``dimension (n,)`` (NaN where undecided), ``dimension_reason (n,)`` (``tangent.dimension.REASONS``)
and ``flipd (n,)``.

**FLIPD** (Kamkari et al., NeurIPS 2024) is a second estimate of the dimension from the same network: for
data smoothed by Gaussian noise of level σ, ``d + σ² (tr ∇s + ‖s‖²)`` with the score ``s``, which by
Tweedie's formula ``D(y) = y + σ² s(y)`` is ``tr J + ‖D(x) − x‖² / σ²`` at the image x. ``tr J`` is
estimated as Hutch++ does (Meyer et al. 2021): exactly on the subspace ``Q`` the subspace iteration found
(where nearly all of it lies) plus Hutchinson's estimate with ``trace_probes`` Rademacher vectors on its
orthogonal complement.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jvp, vjp

from manifold_xai.store import open_store
from manifold_xai.tangent.basis_store import write_basis_store
from manifold_xai.tangent.dimension import REASONS, read_dimension, usable_rank


def _orth(a: torch.Tensor) -> torch.Tensor:
    """Orthonormal columns spanning ``a (n, d, l)`` (reduced QR)."""
    return torch.linalg.qr(a, mode="reduced").Q


def jacobian_singular(
    fn,
    x: torch.Tensor,
    sample_index: np.ndarray,
    *,
    max_k: int,
    oversample: int = 8,
    power_iterations: int = 2,
    seed: int = 0,
    trace_probes: int = 0,
):
    """The leading ``max_k`` left singular vectors ``(n, max_k, d) float64`` and singular values
    ``(n, max_k) float64`` (descending) of the Jacobian of ``fn`` at each image of ``x (n, c, h, w)``;
    with ``trace_probes > 0`` also ``tr J (n,) float64`` (Hutch++, see the module docstring).

    ``fn`` maps a batch of images to a batch of images of the same shape and treats each image on its
    own (no batch statistics), so one JVP/VJP over a batch of ``n·l`` repeated images applies each
    image's own Jacobian to its own ``l`` vectors. ``sample_index (n,)`` seeds each image's start vectors
    and trace probes.
    """
    n, shape = len(x), tuple(x.shape[1:])
    d = int(np.prod(shape))
    width = max_k + oversample
    if width > d:
        raise ValueError(
            f"max_k + oversample = {width} exceeds the image dimension d = {d}: lower them"
        )
    dtype = x.dtype

    def apply(vectors: torch.Tensor, transpose: bool) -> torch.Tensor:
        """``J v`` (or ``Jᵀ v``) for ``vectors (n, d, l) float64`` → ``(n, d, l) float64``."""
        width_now = vectors.shape[2]
        flat = vectors.transpose(1, 2).reshape(n * width_now, *shape).to(dtype)
        repeated = x.repeat_interleave(width_now, 0)
        if transpose:
            _, pull = vjp(fn, repeated)
            out = pull(flat)[0]
        else:
            out = jvp(fn, (repeated,), (flat,))[1]
        return out.detach().reshape(n, width_now, d).transpose(1, 2).to(torch.float64)

    rngs = [np.random.default_rng([seed, int(i)]) for i in sample_index]
    omega = np.stack([rng.standard_normal((d, width)) for rng in rngs])
    q = _orth(apply(torch.from_numpy(omega).to(x.device), transpose=False))
    for _ in range(power_iterations):
        q = _orth(apply(_orth(apply(q, transpose=True)), transpose=False))
    bt = apply(q, transpose=True)  # Jᵀ Q = Bᵀ (n, d, l), with B = Qᵀ J
    _, s, vh = torch.linalg.svd(bt, full_matrices=False)  # Bᵀ = W S Vh, so J ≈ (Q Vhᵀ) S Wᵀ
    u = q @ vh.transpose(1, 2)
    out = (u[:, :, :max_k].transpose(1, 2).cpu().numpy(), s[:, :max_k].cpu().numpy())
    if trace_probes <= 0:
        return out
    on_q = (bt * q).sum((1, 2))  # tr(Qᵀ J Q) = Σ_j (Jᵀ q_j) · q_j
    signs = np.stack([rng.choice([-1.0, 1.0], size=(d, trace_probes)) for rng in rngs])
    g = torch.from_numpy(signs).to(x.device)
    g = g - q @ (q.transpose(1, 2) @ g)  # the probes on the complement of Q
    off_q = (g * apply(g, transpose=False)).sum((1, 2)) / trace_probes
    return (*out, (on_q + off_q).cpu().numpy())


def flipd_estimate(fn, x: torch.Tensor, jacobian_trace: np.ndarray, sigma: float) -> np.ndarray:
    """FLIPD ``tr J + ‖D(x) − x‖² / σ²`` per image ``(n,) float64`` of ``x (n, c, h, w)`` (see the
    module docstring), from ``jacobian_trace (n,)``."""
    with torch.no_grad():
        residual = (fn(x) - x).flatten(1).double().pow(2).sum(1).cpu().numpy()
    return np.asarray(jacobian_trace, np.float64) + residual / sigma**2


def denoiser_bases(
    fn,
    images: np.ndarray,
    sample_index: np.ndarray,
    *,
    max_k: int,
    sigma: float = 0.1,
    k: int | str = "auto",
    rule: str = "threshold",
    threshold: float = 0.5,
    min_ratio: float = 2.0,
    oversample: int = 8,
    power_iterations: int = 2,
    trace_probes: int = 8,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """The tangent estimate at ``images (n, c, h, w) float32``: ``basis (n, max_k, d) float32`` zero
    past each image's rank (all zero where the dimension is undecided), ``singular_values (n, max_k)``,
    ``rank (n,) int64``, ``singular_vectors (n, max_k, d) float32``, ``dimension (n,) float64`` (NaN
    where undecided), ``dimension_reason (n,) int8`` and ``flipd (n,) float64``. ``k``: ``"auto"``
    reads the dimension with ``rule`` (``tangent.dimension.RULES``), an integer fixes it."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    u, s, trace = jacobian_singular(
        fn,
        x,
        sample_index,
        max_k=max_k,
        oversample=oversample,
        power_iterations=power_iterations,
        seed=seed,
        trace_probes=max(trace_probes, 1),
    )
    flipd = flipd_estimate(fn, x, trace, sigma)
    if k == "auto":
        dimension, reason = read_dimension(
            rule, s, threshold=threshold, min_ratio=min_ratio, flipd=flipd
        )
    else:
        dimension = np.full(len(s), min(int(k), max_k), np.float64)
        reason = np.zeros(len(s), np.int8)
    rank = usable_rank(dimension)
    vectors = u.astype(np.float32)
    basis = _masked(vectors, rank)
    return {
        "basis": basis,
        "singular_values": s,
        "rank": rank,
        "singular_vectors": vectors,
        "dimension": dimension,
        "dimension_reason": reason,
        "flipd": flipd,
    }


def _masked(vectors: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """``vectors (n, max_k, d)`` with the rows past each sample's ``rank (n,)`` zeroed (a copy)."""
    basis = vectors.copy()
    basis[np.arange(vectors.shape[1])[None, :] >= rank[:, None]] = 0.0
    return basis


def _write_store(
    path, bases_of, n, max_k, d, sample_index, attrs, batch, chunk_mb: float = 32.0
) -> dict:
    """Write a denoiser-layout store (the basis, and per image ``singular_vectors``, ``dimension``,
    ``dimension_reason`` and ``flipd``) and return its statistics and ``dimension_summary``."""
    extra = {
        "singular_vectors": ((max_k, d), "float32", ("sample", "direction", "pixel")),
        "dimension": ((), "float64", ("sample",)),
        "dimension_reason": ((), "int8", ("sample",)),
        "flipd": ((), "float64", ("sample",)),
    }
    stats = write_basis_store(
        path,
        bases_of,
        n=n,
        k=max_k,
        d=d,
        sample_index=sample_index,
        attrs=attrs,
        batch=batch,
        chunk_mb=chunk_mb,
        extra=extra,
    )
    store = open_store(path)
    return {**stats, **dimension_summary(store["dimension"][...], store["dimension_reason"][...])}


def denoiser_store(
    path,
    denoiser: torch.nn.Module,
    images: np.ndarray,
    sample_index: np.ndarray,
    image_shape,
    *,
    sigma: float,
    max_k: int,
    k: int | str = "auto",
    rule: str = "threshold",
    threshold: float = 0.5,
    min_ratio: float = 2.0,
    oversample: int = 8,
    power_iterations: int = 2,
    trace_probes: int = 8,
    images_per_batch: int = 8,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_mb: float = 32.0,
    source: str = "denoiser",
) -> dict:
    """Write the denoiser's tangent store at ``images (n, c, h, w)`` (test images, rows ``sample_index``
    of ``data.zarr``), attrs ``tangent_source`` (``source``), ``sigma``, ``k_rule``. Returns the store's
    summary statistics and the intrinsic dimension's (median, quartiles, undecided images and why)."""
    denoiser = denoiser.to(device).eval()
    for p in denoiser.parameters():
        p.requires_grad_(False)

    def fn(y: torch.Tensor) -> torch.Tensor:
        return denoiser(y, sigma)

    options = {
        "max_k": max_k,
        "sigma": sigma,
        "k": k,
        "rule": rule,
        "threshold": threshold,
        "min_ratio": min_ratio,
        "oversample": oversample,
        "power_iterations": power_iterations,
        "trace_probes": trace_probes,
        "seed": seed,
        "device": device,
    }

    def bases_of(start: int, stop: int):
        out = denoiser_bases(fn, images[start:stop], sample_index[start:stop], **options)
        return out["basis"], out["singular_values"], out["rank"], out

    n, d = len(images), int(np.prod(image_shape))
    attrs = {
        "image_shape": list(image_shape),
        "tangent_source": source,
        "sigma": float(sigma),
        "k_rule": rule if k == "auto" else f"fixed {k}",
        "threshold": float(threshold),
        "min_ratio": float(min_ratio),
        "max_k": int(max_k),
        "dimension_reasons": {str(code): text for code, text in REASONS.items()},
    }
    return _write_store(
        path, bases_of, n, max_k, d, sample_index, attrs, images_per_batch, chunk_mb
    )


def dimension_summary(dimension: np.ndarray, reason: np.ndarray) -> dict:
    """Median and quartiles of the decided dimensions, and how many images are undecided, by reason."""
    dimension, reason = np.asarray(dimension, np.float64), np.asarray(reason)
    decided = dimension[np.isfinite(dimension)]
    quartiles = np.percentile(decided, [25, 50, 75]) if len(decided) else [np.nan] * 3
    codes, counts = np.unique(reason[reason != 0], return_counts=True)
    return {
        "dimension_q25": float(quartiles[0]),
        "dimension_median": float(quartiles[1]),
        "dimension_q75": float(quartiles[2]),
        "n_undecided": int(len(dimension) - len(decided)),
        "undecided_reasons": {REASONS[int(c)]: int(m) for c, m in zip(codes, counts, strict=True)},
    }


def rederive_store(
    denoiser_path,
    path,
    *,
    rule: str,
    source: str,
    sample_index: np.ndarray,
    threshold: float | None = None,
    min_ratio: float | None = None,
    estimate: np.ndarray | None = None,
    images_per_batch: int = 64,
) -> dict:
    """A tangent store from a denoiser store's singular vectors with the dimension read by another
    ``rule`` (``flipd``: from the store's FLIPD estimates; ``levina_bickel``: from ``estimate (n,)``, the
    Levina–Bickel estimate at the same images), at the same test points (``sample_index`` must equal
    the store's), attrs ``tangent_source: source``. No Jacobian is taken."""
    den = open_store(
        denoiser_path,
        required=("singular_vectors", "singular_values", "flipd", "sample_index"),
    )
    if not np.array_equal(np.asarray(den["sample_index"][...]), np.asarray(sample_index)):
        raise ValueError(
            f"{denoiser_path} holds tangent spaces at other test images than requested"
        )
    attrs = dict(den.attrs)
    threshold = attrs["threshold"] if threshold is None else threshold
    min_ratio = attrs.get("min_ratio", 2.0) if min_ratio is None else min_ratio
    n, max_k, d = den["singular_vectors"].shape

    def bases_of(start: int, stop: int):
        s = np.asarray(den["singular_values"][start:stop])
        flipd = np.asarray(den["flipd"][start:stop])
        dimension, reason = read_dimension(
            rule,
            s,
            threshold=threshold,
            min_ratio=min_ratio,
            flipd=flipd,
            estimate=None if estimate is None else estimate[start:stop],
        )
        rank = usable_rank(dimension)
        vectors = np.asarray(den["singular_vectors"][start:stop])
        basis = _masked(vectors, rank)
        extras = {
            "singular_vectors": vectors,
            "dimension": dimension,
            "dimension_reason": reason,
            "flipd": flipd,
        }
        return basis, s, rank, extras

    attrs.update({"tangent_source": source, "k_rule": rule, "derived_from": str(denoiser_path)})
    for key in ("k", "d", "projection", "random_baseline"):
        attrs.pop(key, None)
    return _write_store(path, bases_of, n, max_k, d, sample_index, attrs, images_per_batch)
