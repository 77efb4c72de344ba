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

``intrinsic_dimension`` reads ``k`` per image from the singular values: ``threshold`` (count above
``threshold``, default ½, see above) or ``gap`` (the position of the largest ratio ``s_i / s_{i+1}``); a
fixed integer ``k`` in the config skips the rule. ``denoiser_store`` writes a tangent store in the layout of
``tangent.zarr`` (``basis (n, max_k, d)``, zero past each image's k; ``rank (n,)`` = k;
``singular_values (n, max_k)``, the spectrum).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jvp, vjp

from manifold_xai.store import open_store
from manifold_xai.tangent.basis_store import write_basis_store

K_RULES = ("threshold", "gap")


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
) -> tuple[np.ndarray, np.ndarray]:
    """The leading ``max_k`` left singular vectors ``(n, max_k, d) float64`` and singular values
    ``(n, max_k) float64`` (descending) of the Jacobian of ``fn`` at each image of ``x (n, c, h, w)``.

    ``fn`` maps a batch of images to a batch of images of the same shape and treats each image on its
    own (no batch statistics), so one JVP/VJP over a batch of ``n·l`` repeated images applies each
    image's own Jacobian to its own ``l`` vectors. ``sample_index (n,)`` seeds each image's start vectors.
    """
    n, shape = len(x), tuple(x.shape[1:])
    d = int(np.prod(shape))
    width = max_k + oversample
    if width > d:
        raise ValueError(
            f"max_k + oversample = {width} exceeds the image dimension d = {d}: lower them"
        )
    dtype = x.dtype
    repeated = x.repeat_interleave(width, 0)

    def apply(vectors: torch.Tensor, transpose: bool) -> torch.Tensor:
        """``J v`` (or ``Jᵀ v``) for ``vectors (n, d, l) float64`` → ``(n, d, l) float64``."""
        flat = vectors.transpose(1, 2).reshape(n * width, *shape).to(dtype)
        if transpose:
            _, pull = vjp(fn, repeated)
            out = pull(flat)[0]
        else:
            out = jvp(fn, (repeated,), (flat,))[1]
        return out.detach().reshape(n, width, d).transpose(1, 2).to(torch.float64)

    omega = np.stack(
        [np.random.default_rng([seed, int(i)]).standard_normal((d, width)) for i in sample_index]
    )
    q = _orth(apply(torch.from_numpy(omega).to(x.device), transpose=False))
    for _ in range(power_iterations):
        q = _orth(apply(_orth(apply(q, transpose=True)), transpose=False))
    bt = apply(q, transpose=True)  # Jᵀ Q = Bᵀ (n, d, l), with B = Qᵀ J
    _, s, vh = torch.linalg.svd(bt, full_matrices=False)  # Bᵀ = W S Vh, so J ≈ (Q Vhᵀ) S Wᵀ
    u = q @ vh.transpose(1, 2)
    return (
        u[:, :, :max_k].transpose(1, 2).cpu().numpy(),
        s[:, :max_k].cpu().numpy(),
    )


def intrinsic_dimension(
    singular_values: np.ndarray, rule: str = "threshold", threshold: float = 0.5
) -> np.ndarray:
    """``(n,) int64`` k per image from ``singular_values (n, K)`` (descending; see the module
    docstring). ``gap`` never returns K: a spectrum whose largest ratio is past the last computed value
    gives K − 1 at most, so raise ``max_k`` where the counts pile up at the top."""
    s = np.asarray(singular_values, np.float64)
    if rule == "threshold":
        return (s > threshold).sum(1).astype(np.int64)
    if rule == "gap":
        ratio = np.log(np.maximum(s[:, :-1], 1e-300)) - np.log(np.maximum(s[:, 1:], 1e-300))
        return (ratio.argmax(1) + 1).astype(np.int64)
    raise ValueError(f"unknown intrinsic-dimension rule {rule!r}; known: {', '.join(K_RULES)}")


def denoiser_bases(
    fn,
    images: np.ndarray,
    sample_index: np.ndarray,
    *,
    max_k: int,
    k: int | str = "auto",
    rule: str = "threshold",
    threshold: float = 0.5,
    oversample: int = 8,
    power_iterations: int = 2,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(basis (n, max_k, d) float32`` zero past each image's k, ``singular_values (n, max_k)``,
    ``rank (n,)`` = k``) at ``images (n, c, h, w) float32`` (``k``: ``"auto"`` reads it with ``rule``,
    an integer fixes it)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    u, s = jacobian_singular(
        fn,
        x,
        sample_index,
        max_k=max_k,
        oversample=oversample,
        power_iterations=power_iterations,
        seed=seed,
    )
    rank = (
        intrinsic_dimension(s, rule, threshold)
        if k == "auto"
        else np.full(len(s), min(int(k), max_k), np.int64)
    )
    basis = u.astype(np.float32)
    basis[np.arange(max_k)[None, :] >= rank[:, None]] = 0.0
    return basis, s, rank


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
    oversample: int = 8,
    power_iterations: int = 2,
    images_per_batch: int = 8,
    seed: int = 0,
    device: torch.device | str = "cpu",
    chunk_mb: float = 32.0,
) -> dict:
    """Write the denoiser's tangent store at ``images (n, c, h, w)`` (test images, rows ``sample_index``
    of ``data.zarr``), attrs ``tangent_source: denoiser``, ``sigma``, ``k_rule``. Returns the store's
    summary statistics and the intrinsic dimension's (mean, median, min, max, how many images reached
    ``max_k``)."""
    denoiser = denoiser.to(device).eval()
    for p in denoiser.parameters():
        p.requires_grad_(False)

    def fn(y: torch.Tensor) -> torch.Tensor:
        return denoiser(y, sigma)

    options = {
        "max_k": max_k,
        "k": k,
        "rule": rule,
        "threshold": threshold,
        "oversample": oversample,
        "power_iterations": power_iterations,
        "seed": seed,
        "device": device,
    }

    def bases_of(start: int, stop: int):
        return denoiser_bases(fn, images[start:stop], sample_index[start:stop], **options)

    n, d = len(images), int(np.prod(image_shape))
    attrs = {
        "image_shape": list(image_shape),
        "tangent_source": "denoiser",
        "sigma": float(sigma),
        "k_rule": rule if k == "auto" else f"fixed {k}",
        "threshold": float(threshold),
        "max_k": int(max_k),
    }
    stats = write_basis_store(
        path,
        bases_of,
        n=n,
        k=max_k,
        d=d,
        sample_index=sample_index,
        attrs=attrs,
        batch=images_per_batch,
        chunk_mb=chunk_mb,
    )
    rank = np.asarray(open_store(path)["rank"][...])  # each image's k, as the store holds it
    return {
        **stats,
        "intrinsic_dimension_mean": float(rank.mean()) if len(rank) else float("nan"),
        "intrinsic_dimension_median": float(np.median(rank)) if len(rank) else float("nan"),
        "intrinsic_dimension_min": int(rank.min()) if len(rank) else 0,
        "intrinsic_dimension_max": int(rank.max()) if len(rank) else 0,
        "n_at_max_k": int((rank >= max_k).sum()),
    }
