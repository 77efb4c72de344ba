"""The public Python API: tangent spaces, fractions in tangent space, attributions by name (docs/api.md).

Build a ``TangentSpace`` (the one interface of ``manifold_xai.tangent.space``) from a decoder and latents
(``from_decoder``), a stored tangent store (``open_tangent_space``), local PCA on a set of images
(``from_local_pca``) or an explicit basis (``from_basis``); compute attributions by name through the
method registry (``explain``); measure them (``fractions``, ``random_fractions``, ``random_baseline``,
``decompose``). ``load_model`` opens a model file the pipeline wrote (``model.pt``: a classifier, a
manifold) in eval mode; ``open_dataset`` opens any store with xarray.

Every function takes NumPy arrays or torch tensors (on any device) and returns NumPy arrays. Images and
attributions are ``(n, c, h, w)`` or flat ``(n, d)``, with any leading axes (e.g. methods) before the
sample axis; sample ``i`` of the vectors belongs to tangent space ``samples[i]`` (default: all, in
order). Models are used as lent: their mode, ``requires_grad`` flags and device are as before afterwards.
``fractions`` and ``decompose`` stream over blocks of ``batch_size`` samples, so memory holds one block of
bases and vectors, whatever n; vectors may be a Zarr or Dask array read block by block.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn

import manifold_xai
from manifold_xai.attribution.compute import as_numpy, attribute, model_device
from manifold_xai.attribution.manifold import ManifoldContext
from manifold_xai.attribution.registry import BUILTIN
from manifold_xai.evaluation.alignment import gaussian_vectors
from manifold_xai.models.io import load_model as load_model  # re-exported
from manifold_xai.tangent.bases import DEFAULT_RTOL, orthonormal_basis, prepare_decoder
from manifold_xai.tangent.geometry import local_pca_bases
from manifold_xai.tangent.space import (
    BasisTangentSpace,
    MatrixFreeTangentSpace,  # noqa: F401  re-exported
    TangentSpace,
    decoder_tangent_space,
    sample_axis,
)
from manifold_xai.tangent.space import open_tangent_space as open_tangent_space  # re-exported

# The names the package re-exports (listed once, in manifold_xai/__init__.py).
__all__ = [name for name in manifold_xai.__all__ if name != "TangentFraction"]


def from_basis(basis, rank=None, *, rtol: float = DEFAULT_RTOL) -> BasisTangentSpace:
    """Tangent spaces spanned by the rows of ``basis (n, k, d)`` or ``(n, k, c, h, w)`` (one sample:
    ``(k, d)``). The rows need not be orthonormal: each sample's span is orthonormalised (directions with
    singular value ``<= rtol · s_max`` dropped) unless ``rank (n,)`` is given, which declares the rows
    orthonormal already (zero past the rank), as in a tangent store."""
    basis = as_numpy(basis)
    if basis.ndim == 2:
        basis = basis[None]
    basis = basis.reshape(basis.shape[0], basis.shape[1], -1)
    if rank is not None:
        return BasisTangentSpace(basis, as_numpy(rank, np.int64))
    dtype = basis.dtype if basis.dtype in (np.float32, np.float64) else np.float32
    spanning = torch.from_numpy(np.ascontiguousarray(basis.transpose(0, 2, 1), dtype=dtype))
    orthonormal, _, rank = orthonormal_basis(spanning, rtol, method="svd")
    return BasisTangentSpace(orthonormal.numpy(), rank.numpy())


def from_decoder(
    decoder,
    latents,
    *,
    rtol: float = DEFAULT_RTOL,
    matrix_free: bool = False,
    batch_size: int = 32,
    device: torch.device | str | None = None,
) -> TangentSpace:
    """The tangent spaces of a decoder's image at ``latents (n, k)``: the span of the Jacobian's left
    singular vectors with singular value ``> rtol · s_max`` (the pipeline's definition).

    ``decoder``: a module with ``decode`` (a VAE, an autoencoder) or a module mapping ``(b, k)`` latents
    to ``(b, *image)`` images; it is copied, never changed. Dense (default): the orthonormal bases are
    computed now, ``batch_size`` latents at a time (``n · k · d`` float32 in memory). ``matrix_free``:
    nothing is stored; each sample's subspace comes from the decoder's JVPs and VJPs in float64 when it is
    first used, for images where a ``k × d`` basis would not fit.
    """
    latents = as_numpy(latents, np.float32)
    if latents.ndim != 2:
        raise ValueError(f"latents must be (n, k), got shape {latents.shape}")
    if not isinstance(decoder, nn.Module):
        raise TypeError(f"decoder must be a torch module, got {type(decoder).__name__}")
    with torch.no_grad():  # a TorchScript module's copy is otherwise a non-leaf graph of clones
        model = prepare_decoder(copy.deepcopy(decoder))
    device = torch.device(device) if device is not None else model_device(model)
    model.to(device)
    return decoder_tangent_space(
        model, latents, device=device, rtol=rtol, matrix_free=matrix_free, batch_size=batch_size
    )


def from_local_pca(images, reference, *, k: int, neighbours: int = 40) -> BasisTangentSpace:
    """Local-PCA tangent spaces at ``images (n, ...)``: the top ``k`` principal directions of the
    differences between each image's ``neighbours`` nearest images in ``reference (r, ...)`` (e.g. the
    training set) and the image; no generative model needed (the pipeline's ``local_pca`` source)."""
    images, reference = as_numpy(images, np.float32), as_numpy(reference, np.float32)
    basis, _, rank = local_pca_bases(
        images.reshape(len(images), -1), reference.reshape(len(reference), -1), k, neighbours
    )
    return BasisTangentSpace(basis, rank)


def explain(
    model: nn.Module,
    images,
    method="gradient",
    /,
    *,
    targets=None,
    batch_size: int = 64,
    seed: int = 0,
    device: torch.device | str | None = None,
    tangent: TangentSpace | None = None,
    decoder=None,
    latents=None,
    **params,
) -> np.ndarray:
    """Attributions ``(n, c, h, w) float32`` of ``images (n, c, h, w)`` for the logit of ``targets`` (default:
    the predicted class), by one method of the registry (docs/methods.md):

    - a built-in name (``"gradient"``, ``"integrated_gradients"``, ``"input_x_gradient"``, ``"smoothgrad"``,
      ``"path_averaged_gradient"``); ``params`` override its defaults (``steps=50``, ``samples=25``, …;
      ``method`` is IG's quadrature, the method itself is the positional argument);
    - the name of any Captum attribution class (``"DeepLift"``); ``params`` go to its ``attribute``;
    - a function ``fn(model, x, target, params) -> (b, c, h, w)``, called with ``params``;
    - a method block as in the config (``{"captum": "Occlusion", "attribute": {...}}``), among them the
      tangent projection of a built-in, ``{"project": "gradient"}``, which needs ``tangent``: the images'
      ``TangentSpace`` (its sample ``i`` is image ``i``);
    - ``"manifold_integrated_gradients"``, which needs ``decoder`` (a module with ``decode``, or mapping
      latents to images; copied, never changed) and ``latents (n, k)``, each image's latent.

    The model is evaluated in eval mode on ``device`` (default: its own) and left as it was.
    """
    name, block = _method_block(method, params)
    manifold = None
    if tangent is not None or decoder is not None:
        decode = None
        if decoder is not None:
            with torch.no_grad():
                copied = prepare_decoder(copy.deepcopy(decoder))
            copied.to(torch.device(device) if device is not None else model_device(model))
            decode = copied.decode if hasattr(copied, "decode") else copied
        manifold = ManifoldContext(
            decode=decode,
            latents=None if latents is None else as_numpy(latents, np.float32),
            given_tangent=tangent,
        )
    maps, _ = attribute(
        model,
        images,
        {name: block},
        device=device,
        batch_size=batch_size,
        seed=seed,
        targets=targets,
        manifold=manifold,
    )
    return maps[0]


def _method_block(method, params: dict) -> tuple[str, dict]:
    if isinstance(method, dict):
        return "method", {**method, **params}
    if callable(method):
        return getattr(method, "__name__", "function").lower(), {
            "function": method,
            "params": params,
        }
    if method in BUILTIN:
        return method, params
    if isinstance(method, str) and method[:1].isupper():
        return method.lower(), {"captum": method, "attribute": params}
    raise ValueError(
        f"unknown method {method!r}: name a built-in ({', '.join(BUILTIN)}), a Captum class "
        f"(e.g. 'DeepLift'), or pass a function"
    )


def _streamed(space, vectors, samples, batch_size, compute, out_shape):
    """``compute(rows (..., b, d), samples (b,))`` over blocks of ``batch_size`` samples, assembled into
    a float64 array of ``out_shape(shape, sample_axis)``."""
    samples = space._samples(samples)
    shape = tuple(vectors.shape) if hasattr(vectors, "shape") else np.shape(vectors)
    axis = sample_axis(shape, len(samples), space.d)
    if axis is None:  # one vector of one sample
        rows = as_numpy(vectors).reshape(1, space.d)
        return compute(rows, samples).reshape(out_shape((1, *shape), 0))[0]
    out = np.empty(out_shape(shape, axis), dtype=np.float64)
    for start in range(0, len(samples), batch_size):
        stop = min(len(samples), start + batch_size)
        index = (slice(None),) * axis + (slice(start, stop),)
        rows = as_numpy(vectors[index]).reshape(*shape[:axis], stop - start, space.d)
        out[index] = compute(rows, samples[start:stop]).reshape(out[index].shape)
    return out


def fractions(space: TangentSpace, vectors, samples=None, *, batch_size: int = 256) -> np.ndarray:
    """``||P_T v|| / ||v||`` of every vector (attribution) in ``[0, 1]``, float64, of shape ``vectors``'
    shape up to the sample axis: ``(..., n)``. NaN where the vector is zero or the tangent space
    undefined (rank 0, not converged): count them, never average them in as 0."""
    return _streamed(
        space,
        vectors,
        samples,
        batch_size,
        lambda block, s: space.fractions(block, s),
        lambda shape, axis: shape[: axis + 1],
    )


def decompose(
    space: TangentSpace, vectors, samples=None, *, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """``(P_T v, v - P_T v)``: the tangent and orthogonal parts of ``vectors``, each of their shape,
    float64 (NaN where the tangent space is undefined)."""
    tangent = _streamed(
        space,
        vectors,
        samples,
        batch_size,
        lambda block, s: space.project(block, s),
        lambda shape, axis: shape,
    )
    return tangent, as_numpy(vectors, np.float64) - tangent


def random_baseline(space: TangentSpace) -> float:
    """``sqrt(k / d)``: the expected fraction of an isotropic random vector, the paper's baseline."""
    return space.baseline


def random_fractions(
    space: TangentSpace, samples=None, *, seed: int = 0, batch_size: int = 256
) -> np.ndarray:
    """The measured random baseline: the fraction ``(n,) float64`` of one N(0, I_d) vector per sample,
    drawn from ``(seed, sample)`` exactly as the pipeline's ``random_fraction`` (same seed: same values)."""
    samples = space._samples(samples)
    out = np.empty(len(samples))
    for start in range(0, len(samples), batch_size):
        block = samples[start : start + batch_size]
        out[start : start + len(block)] = space.fractions(
            gaussian_vectors(seed, block, space.d).astype(np.float32), block
        )
    return out


def open_dataset(path: str | Path) -> xr.Dataset:
    """A pipeline store as an ``xarray.Dataset`` (lazy, Dask-backed). A tangent store's
    ``basis (sample, direction, pixel)`` is given the attributions' layout ``(sample, direction,
    channel, y, x)`` from its ``image_shape`` attribute, so the two line up element for element."""
    ds = xr.open_zarr(path)
    if "basis" in ds and "pixel" in ds["basis"].dims and "image_shape" in ds.attrs:
        c, h, w = (int(s) for s in ds.attrs["image_shape"])
        basis = ds["basis"].data.reshape(ds.sizes["sample"], ds.sizes["direction"], c, h, w)
        ds = ds.drop_vars(["basis", "pixel"], errors="ignore").assign(
            basis=(("sample", "direction", "channel", "y", "x"), basis)
        )
        ds = ds.assign_coords(channel=np.arange(c), y=np.arange(h), x=np.arange(w))
    return ds
