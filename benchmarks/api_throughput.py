"""Throughput of the Python API's fractions next to the pipeline's alignment job, on the same stores.

    uv run python benchmarks/api_throughput.py [--threads 2]

For d = 1024 (MNIST32: k = 10, n = 2048) and d = 65 536 (MNIST256: k = 10, n = 192) writes a tangent
store with the pipeline's writer (``write_basis_store``, float32, Blosc-LZ4, 32 MiB chunks) and an
attributions store of one method, then measures, best of 3:

- ``api``: ``manifold_xai.fractions(open_tangent_space(tangent), attributions)``, the attributions read
  from their store lazily, streamed in blocks of 256 samples;
- ``pipeline``: ``alignment_dataset`` (what rule ``compute_alignment`` runs: Dask over the Zarr chunks,
  the method and one Gaussian vector per sample) on ``--threads`` threads;

and checks that both give the same fractions (max abs difference). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import manifold_xai as mx
from manifold_xai.evaluation.alignment import alignment_dataset
from manifold_xai.store import atomic_path, create_store, write_array, write_labels
from manifold_xai.tangent.basis_store import write_basis_store

SHAPES = {"d1024": (2048, 10, (1, 32, 32)), "d65536": (192, 10, (1, 256, 256))}


def random_bases(start: int, stop: int, k: int, d: int):
    rng = np.random.default_rng(start)
    q, _ = np.linalg.qr(rng.standard_normal((stop - start, d, k)))
    basis = q.transpose(0, 2, 1).astype(np.float32)
    return basis, np.ones((stop - start, k)), np.full(stop - start, k)


def write_stores(root: Path, n: int, k: int, shape: tuple[int, ...]) -> tuple[Path, Path]:
    d = int(np.prod(shape))
    tangent, attributions = root / "tangent.zarr", root / "attributions.zarr"
    write_basis_store(
        tangent,
        lambda start, stop: random_bases(start, stop, k, d),
        n=n,
        k=k,
        d=d,
        sample_index=np.arange(n),
        attrs={"image_shape": list(shape)},
        batch=32,
    )
    maps = np.random.default_rng(1).standard_normal((1, n, *shape)).astype(np.float32)
    with atomic_path(attributions) as tmp:
        group = create_store(tmp, {"methods": ["gradient"]})
        write_array(
            group,
            "attribution",
            maps,
            ("method_name", "sample", "channel", "y", "x"),
            chunks=(1, min(256, n), *shape),
        )
        write_labels(group, "method_name", ["gradient"])
        write_array(group, "predicted", np.zeros(n, np.int64), ("sample",))
    return tangent, attributions


def best_of(fn, repeats: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(n: int, k: int, shape: tuple[int, ...], threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tangent, attributions = write_stores(Path(tmp), n, k, shape)

        def api():
            space = mx.open_tangent_space(tangent)
            maps = mx.open_dataset(attributions)["attribution"].sel(method_name="gradient").data
            return mx.fractions(space, maps)

        def pipeline():
            ds = alignment_dataset(
                tangent, attributions, labels=np.zeros(n, np.int64), seed=0, threads=threads
            )
            return ds["fraction"].sel(method_name="gradient").values

        api_seconds, api_fractions = best_of(api)
        pipeline_seconds, pipeline_fractions = best_of(pipeline)
    return {
        "n": n,
        "k": k,
        "d": int(np.prod(shape)),
        "api_seconds": round(api_seconds, 4),
        "api_fractions_per_second": round(n / api_seconds, 1),
        "pipeline_seconds": round(pipeline_seconds, 4),
        "pipeline_fractions_per_second": round(n / pipeline_seconds, 1),
        "pipeline_note": "also projects one Gaussian vector per sample (the measured random baseline)",
        "max_abs_difference": float(np.max(np.abs(api_fractions - pipeline_fractions))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    results = {name: measure(*spec, args.threads) for name, spec in SHAPES.items()}
    print(json.dumps({"threads": args.threads, **results}, indent=2))


if __name__ == "__main__":
    main()
