"""Stores of a synthetic (dataset, seed) run, written by the project's own writers (dataset, tangent
bases, attributions, alignment by ``alignment_dataset``): what the explorer's tests and its scale
benchmark build the page from. Shared by tests/test_explorer.py and benchmarks/explorer_scale.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_run(
    root: Path,
    seed: int,
    *,
    n: int = 30,
    size: int = 8,
    k: int = 3,
    n_classes: int = 4,
    methods=("gradient", "smoothgrad"),
    regimes=("standard", "adversarial"),
    sources=("vae", "local_pca"),
    dataset: str = "toy",
    smooth: float = 0.0,
) -> dict:
    """Write one run's stores under ``root/seed{seed}`` and return its ``explorer.gather.open_run`` spec.

    ``n`` test images (plus 5 training rows before them) of ``size × size`` pixels, random orthonormal
    tangent bases of dimension ``k`` per source (the last image's rank 0: undefined), Gaussian maps per
    regime and method (blurred by ``smooth`` pixels when > 0, as attributions are), random predictions.
    """
    from scipy.ndimage import gaussian_filter

    from manifold_xai.data.dataset_store import Dataset, write_dataset
    from manifold_xai.evaluation.alignment import alignment_dataset
    from manifold_xai.store import (
        atomic_path,
        create_store,
        write_array,
        write_labels,
        write_xarray,
    )
    from manifold_xai.tangent.basis_store import write_basis_store

    rng = np.random.default_rng(seed)
    d = size * size
    run = Path(root) / f"seed{seed}"
    images = rng.uniform(size=(n + 5, 1, size, size)).astype(np.float32)
    labels = rng.integers(0, n_classes, n + 5)
    split = np.r_[np.zeros(5, np.int8), np.ones(n, np.int8)]
    write_dataset(
        run / "data.zarr",
        Dataset(images, labels, np.zeros((n + 5, 0), np.float32), split, {"n_classes": n_classes}),
    )
    rows = np.arange(5, n + 5)
    tangent = {}
    for s, source in enumerate(sources):
        source_rng = np.random.default_rng([seed, s])

        def bases_of(a, b, source_rng=source_rng):
            basis = np.linalg.qr(source_rng.standard_normal((b - a, d, k)))[0].transpose(0, 2, 1)
            rank = np.full(b - a, k)
            if b == n:  # the last image: an undefined tangent space (fraction NaN)
                basis[-1], rank[-1] = 0, 0
            return basis.astype(np.float32), np.ones((b - a, k)), rank

        name = "tangent.zarr" if s == 0 else f"tangent_{source}.zarr"
        write_basis_store(
            run / name,
            bases_of,
            n=n,
            k=k,
            d=d,
            sample_index=rows,
            attrs={"tangent_source": source, "rank_rtol": 1e-3},
            batch=256,
        )
        tangent[source] = str(run / name)
    specs = []
    for regime in regimes:
        path = run / "attributions" / f"{regime}.zarr"
        maps = rng.standard_normal((len(methods), n, 1, size, size)).astype(np.float32)
        if smooth > 0:
            maps = gaussian_filter(maps, sigma=(0, 0, 0, smooth, smooth)).astype(np.float32)
        with atomic_path(path) as tmp:
            group = create_store(tmp, {"methods": list(methods), "method_params": {}})
            write_array(
                group,
                "attribution",
                maps,
                ("method_name", "sample", "channel", "y", "x"),
                chunks=(len(methods), min(256, n), 1, size, size),
            )
            write_labels(group, "method_name", list(methods))
            write_array(group, "predicted", rng.integers(0, n_classes, n), ("sample",))
            write_array(group, "sample_index", rows, ("sample",))
        alignment = {}
        for s, source in enumerate(sources):
            folder = "alignment" if s == 0 else f"alignment_{source}"
            out = run / folder / f"{regime}.zarr"
            write_xarray(
                alignment_dataset(tangent[source], path, labels=labels[rows], seed=seed), out
            )
            alignment[source] = str(out)
        specs.append({"name": regime, "attributions": str(path), "alignment": alignment})
    return {
        "dataset": dataset,
        "seed": seed,
        "data": str(run / "data.zarr"),
        "tangent": tangent,
        "regimes": specs,
    }
