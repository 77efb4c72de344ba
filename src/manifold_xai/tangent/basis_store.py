"""Tangent stores: the orthonormal bases of many samples written chunk by chunk into one Zarr store.

- ``write_basis_store``: a tangent store from any source of bases (decoder, renderer, local PCA), written
  chunk by chunk (memory does not grow with n);
- ``write_tangent_store``: that of a decoder (``bases.decoder_jacobian`` + ``bases.orthonormal_basis`` per
  batch). For very large ``k · d`` it stores the latents only and fractions are computed matrix-free
  (``manifold_xai.tangent.matrix_free``);
- ``store_options``: their keyword arguments from a dataset's ``tangent:`` config block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from manifold_xai.store import atomic_path, create_array, create_store, open_store, write_array
from manifold_xai.tangent.bases import (
    DEFAULT_RTOL,
    auto_batch_size,
    decoder_jacobian,
    orthonormal_basis,
    random_baseline,
)

if TYPE_CHECKING:  # imported by the functions that run models
    import torch

log = logging.getLogger(__name__)


def chunk_samples_for(k: int, d: int, itemsize: int, chunk_mb: float) -> int:
    """Samples per Zarr chunk of the basis so a chunk holds about ``chunk_mb`` MiB (at least one)."""
    return max(1, int(chunk_mb * (1 << 20) // (k * d * itemsize)))


BasisBatch = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def store_options(tangent: dict) -> dict:
    """The keyword arguments of ``write_tangent_store`` from a dataset's ``tangent:`` config block."""
    return {
        "rtol": tangent["rank_rtol"],
        "method": tangent["orthonormalisation"],
        "rank_rule": tangent["rank_rule"],
        "batch_size": None if tangent["batch_size"] == "auto" else tangent["batch_size"],
        "chunk_mb": tangent["chunk_mb"],
        "storage_dtype": tangent["storage_dtype"],
        "matrix_free_dtype": tangent["matrix_free_dtype"],
    }


def decoder_bases(
    decode: Callable[[torch.Tensor], torch.Tensor],
    latents: np.ndarray,
    device: torch.device,
    *,
    rtol: float = DEFAULT_RTOL,
    method: str = "qr",
    rank_rule: str = "rtol",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(basis (n, k, d), singular_values (n, k), rank (n,))`` as NumPy arrays at ``latents (n, k)``: one
    batch of ``decoder_jacobian`` + ``orthonormal_basis``."""
    import torch

    z = torch.from_numpy(np.ascontiguousarray(latents)).to(device)
    with torch.no_grad():  # forward-mode AD inside torch.func ignores the outer no_grad
        basis, s, rank = orthonormal_basis(decoder_jacobian(decode, z), rtol, method, rank_rule)
    return basis.cpu().numpy(), s.cpu().numpy(), rank.cpu().numpy()


def write_basis_store(
    path,
    bases_of: BasisBatch,
    *,
    n: int,
    k: int,
    d: int,
    sample_index: np.ndarray,
    attrs: dict,
    batch: int,
    chunk_mb: float = 32.0,
    storage_dtype: str = "float32",
    latents: np.ndarray | None = None,
    extra: dict[str, tuple[tuple[int, ...], str, tuple[str, ...]]] | None = None,
) -> dict:
    """Write a tangent store atomically, chunk by chunk, from any source of orthonormal bases.

    ``bases_of(start, stop)`` returns, for samples ``start:stop`` (at most ``batch`` of them),
    ``basis (m, k, d)`` (orthonormal rows, zero beyond the rank), ``singular_values (m, k) float64`` and
    ``rank (m,) int``. Arrays: ``basis (sample, direction, pixel)`` in ``storage_dtype`` chunked
    ``(c, k, d)`` with ``c`` samples ≈ ``chunk_mb`` MiB, ``singular_values``, ``rank``, ``sample_index``
    (rows of ``data.zarr``) and, when given, ``latents (sample, latent) float32``. Peak memory is one
    chunk plus one batch, whatever n. Returns summary statistics.

    ``extra``: further per-sample arrays, name → ``(shape after the sample axis, dtype, dims)``; then
    ``bases_of`` returns a fourth element, a dict of those arrays for its samples, written chunk by
    chunk with the basis.
    """
    if storage_dtype not in ("float32", "float16"):
        raise ValueError(f"storage dtype must be float32 or float16, got {storage_dtype!r}")
    store_dtype = np.dtype(storage_dtype)
    chunk = min(max(n, 1), chunk_samples_for(k, d, store_dtype.itemsize, chunk_mb))
    batch = max(1, min(chunk, batch))
    ranks = np.zeros(n, dtype=np.int64)
    with atomic_path(path) as tmp:
        group = create_store(
            tmp,
            {
                "k": k,
                "d": d,
                "projection": "basis",
                "random_baseline": random_baseline(k, d),
                **attrs,
            },
        )
        if latents is not None:
            write_array(
                group, "latents", np.asarray(latents, dtype=np.float32), ("sample", "latent")
            )
        write_array(group, "sample_index", np.asarray(sample_index, dtype=np.int64), ("sample",))
        basis_arr = create_array(
            group,
            "basis",
            (n, k, d),
            store_dtype,
            ("sample", "direction", "pixel"),
            chunks=(chunk, k, d),
            codec="lz4",
        )
        sv_arr = create_array(
            group, "singular_values", (n, k), np.float64, ("sample", "direction"), chunks=(chunk, k)
        )
        extra = extra or {}
        extra_arr = {
            name: create_array(group, name, (n, *tail), dtype, dims, chunks=(chunk, *tail))
            for name, (tail, dtype, dims) in extra.items()
        }
        # One chunk is assembled in memory and written whole: peak memory = one chunk + one batch.
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            buffer = np.empty((stop - start, k, d), dtype=store_dtype)
            svs = np.empty((stop - start, k), dtype=np.float64)
            extras = {
                name: np.empty((stop - start, *tail), dtype)
                for name, (tail, dtype, _) in extra.items()
            }
            for b in range(start, stop, batch):
                e = min(stop, b + batch)
                out = bases_of(b, e)
                buffer[b - start : e - start], svs[b - start : e - start], ranks[b:e] = out[:3]
                for name in extra:
                    extras[name][b - start : e - start] = out[3][name]
            basis_arr[start:stop] = buffer
            sv_arr[start:stop] = svs
            for name, arr in extra_arr.items():
                arr[start:stop] = extras[name]
            log.info("tangent bases %d/%d", stop, n)
        write_array(group, "rank", ranks, ("sample",))
    values, counts = np.unique(ranks, return_counts=True)
    return {
        "n": n,
        "k": k,
        "d": d,
        "chunk_samples": chunk,
        "batch_size": batch,
        "projection": "basis",
        "rank_counts": {int(v): int(c) for v, c in zip(values, counts, strict=True)},
    }


def write_tangent_store(
    path,
    decode: Callable[[torch.Tensor], torch.Tensor],
    latents: np.ndarray,
    sample_index: np.ndarray,
    image_shape: tuple[int, ...],
    *,
    device: torch.device,
    rtol: float = DEFAULT_RTOL,
    method: str = "qr",
    rank_rule: str = "rtol",
    batch_size: int | None = None,
    chunk_mb: float = 32.0,
    storage_dtype: str = "float32",
    matrix_free: bool = False,
    matrix_free_dtype: str = "float64",
    attrs: dict | None = None,
) -> dict:
    """Orthonormal decoder-Jacobian bases at ``latents (n, k)``, written as a tangent store
    (``write_basis_store``) with the latents; ``batch_size=None`` chooses it from free memory.

    With ``matrix_free`` only the latents and sample index are stored (no basis, singular values or
    rank): ``tangent.space.open_tangent_space`` then computes the same subspace (rank cut-off ``rtol``)
    from the decoder run in ``matrix_free_dtype`` (``manifold_xai.tangent.matrix_free``).
    """
    n, k = latents.shape
    d = int(np.prod(image_shape))
    if k >= d:
        raise ValueError(f"latent dimension k={k} must be smaller than the image dimension d={d}")
    store_attrs = {
        "image_shape": list(image_shape),
        "rank_rtol": rtol,
        "rank_rule": rank_rule,
        "orthonormalisation": method,
        **(attrs or {}),
    }
    if matrix_free:
        with atomic_path(path) as tmp:
            group = create_store(
                tmp,
                {
                    "k": k,
                    "d": d,
                    "projection": "matrix_free",
                    "matrix_free_dtype": matrix_free_dtype,
                    "random_baseline": random_baseline(k, d),
                    **store_attrs,
                },
            )
            write_array(
                group, "latents", np.asarray(latents, dtype=np.float32), ("sample", "latent")
            )
            write_array(
                group, "sample_index", np.asarray(sample_index, dtype=np.int64), ("sample",)
            )
        return {"n": n, "k": k, "d": d, "projection": "matrix_free"}

    def bases_of(start: int, stop: int):
        return decoder_bases(
            decode, latents[start:stop], device, rtol=rtol, method=method, rank_rule=rank_rule
        )

    return write_basis_store(
        path,
        bases_of,
        n=n,
        k=k,
        d=d,
        sample_index=sample_index,
        attrs=store_attrs,
        batch=batch_size or auto_batch_size(k, d, device),
        chunk_mb=chunk_mb,
        storage_dtype=storage_dtype,
        latents=latents,
    )


def stored_bases(path, rows: np.ndarray) -> np.ndarray:
    """``(n, k, d) float32``: every basis of the tangent store at ``path``, checked to be at the dataset
    rows ``rows`` in that order (its ``sample_index``), so a basis is never paired with another image."""
    store = open_store(path, required=("basis", "sample_index"))
    if not np.array_equal(np.asarray(store["sample_index"][...]), np.asarray(rows)):
        raise ValueError(f"{path}: its samples are not the expected {len(rows)} dataset rows")
    return np.asarray(store["basis"][...], dtype=np.float32)
