"""Chunk size and codec of tangent.zarr, chosen by measurement; and the effect of float16 storage.

    uv run python benchmarks/store_layout.py

For MNIST32-shaped bases (k=10, d=1024, n=4096) and MNIST256-shaped ones (d=65 536, n=192) from the
random-weight Burgess decoder, writes the same bases with each chunk size and codec and measures write
time, plain read time, the Dask fraction time (4 attribution methods, 2 threads) and the size on disk.
Then compares fractions from float16 and float32 stores. Prints one JSON object.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time

import numpy as np
import torch
import zarr
from tangent import K, best_time, mnist_decoders

from manifold_xai.evaluation.alignment import alignment_dataset
from manifold_xai.store import atomic_path, create_store, write_array
from manifold_xai.tangent.bases import decoder_jacobian, orthonormal_basis

CODECS = {
    "none": None,
    "zstd1": zarr.codecs.ZstdCodec(level=1),
    "zstd3": zarr.codecs.ZstdCodec(level=3),
    "blosc_lz4_shuffle": zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
}


def bases(decode, n: int) -> np.ndarray:
    out = []
    for start in range(0, n, 32):
        z = torch.randn(min(32, n - start), K, generator=torch.Generator().manual_seed(start))
        with torch.no_grad():
            out.append(orthonormal_basis(decoder_jacobian(decode, z))[0].numpy())
    return np.concatenate(out)


def attribution_store(path, n, d, methods=4):
    data = np.random.default_rng(1).standard_normal((methods, n, 1, d)).astype(np.float32)
    with atomic_path(path) as tmp:
        group = create_store(tmp, {"methods": [f"m{i}" for i in range(methods)]})
        write_array(
            group,
            "attribution",
            data,
            ("method_name", "sample", "channel", "pixel"),
            chunks=(methods, max(1, n // 8), 1, d),
        )
        write_array(group, "predicted", np.zeros(n, np.int64), ("sample",))


def write_store(path, basis, chunk, codec, dtype=np.float32):
    shutil.rmtree(path, ignore_errors=True)
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs.update({"k": basis.shape[1], "d": basis.shape[2], "projection": "basis"})
    arr = group.create_array(
        "basis",
        shape=basis.shape,
        dtype=dtype,
        chunks=(chunk, *basis.shape[1:]),
        dimension_names=("sample", "direction", "pixel"),
        compressors=CODECS[codec] if CODECS[codec] else None,
    )
    arr[...] = basis.astype(dtype)
    for name, values in (
        ("rank", np.full(len(basis), K)),
        ("latents", np.zeros((len(basis), K), np.float32)),
    ):
        group.create_array(
            name,
            data=values,
            dimension_names=("sample",) if values.ndim == 1 else ("sample", "latent"),
        )


def main() -> dict:
    torch.set_num_threads(2)
    decoders = mnist_decoders(torch.device("cpu"))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for d, n in ((1024, 4096), (65536, 192)):
            basis = bases(decoders[d], n)
            attr = f"{tmp}/attr{d}.zarr"
            attribution_store(attr, n, d)
            per_sample = K * d * 4
            rows = []
            for chunk_mb in (2, 8, 32, 64):
                chunk = max(1, int(chunk_mb * 2**20 // per_sample))
                for codec in CODECS:
                    path = f"{tmp}/t{d}_{chunk_mb}_{codec}.zarr"
                    start = time.perf_counter()
                    write_store(path, basis, chunk, codec)
                    write_s = time.perf_counter() - start
                    read_s = best_time(
                        lambda p=path: zarr.open_group(p, mode="r")["basis"][...], repeats=3
                    )
                    frac_s = best_time(
                        lambda p=path, a=attr, m=n: alignment_dataset(
                            p, a, labels=np.zeros(m), seed=0, threads=2
                        ),
                        repeats=3,
                    )
                    size = sum(
                        f.stat().st_size
                        for f in __import__("pathlib").Path(path).rglob("*")
                        if f.is_file()
                    )
                    rows.append(
                        {
                            "chunk_mb": chunk_mb,
                            "chunk_samples": chunk,
                            "codec": codec,
                            "write_mb_per_s": basis.nbytes / 2**20 / write_s,
                            "read_mb_per_s": basis.nbytes / 2**20 / read_s,
                            "fraction_mb_per_s": basis.nbytes / 2**20 / frac_s,
                            "compression_ratio": basis.nbytes / size,
                        }
                    )
                    shutil.rmtree(path)
            f32, f16 = f"{tmp}/f32.zarr", f"{tmp}/f16.zarr"
            write_store(f32, basis, max(1, 8 * 2**20 // per_sample), "zstd1")
            write_store(f16, basis, max(1, 8 * 2**20 // per_sample), "zstd1", np.float16)
            a = alignment_dataset(f32, attr, labels=np.zeros(n), seed=0)["fraction"].values
            b = alignment_dataset(f16, attr, labels=np.zeros(n), seed=0)["fraction"].values
            result[f"d{d}"] = {
                "n": n,
                "layouts": rows,
                "float16": {
                    "max_abs_fraction_change": float(np.abs(a - b).max()),
                    "mean_abs_fraction_change": float(np.abs(a - b).mean()),
                    "mean_fraction": float(a.mean()),
                },
            }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
