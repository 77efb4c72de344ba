"""Rules plot_fig2 and plot_fig11: Figure 2 (Figure 11 for MNIST256) for one run: test images and each
attribution's tangent and orthogonal parts."""

import numpy as np
import torch
import xarray as xr

from manifold_xai.data.dataset_store import read_rows, store_attrs
from manifold_xai.figures import choose_fig2_examples, fig2_decomposition
from manifold_xai.jobs import run_job
from manifold_xai.matrix_free import project_matrix_free
from manifold_xai.models.io import load_model
from manifold_xai.store import open_store
from manifold_xai.tangent import prepare_decoder, project


def tangent_parts(tangent, attribution: np.ndarray, choice: list[int], decode, job):
    """``(tangent, orthogonal)`` parts of ``attribution (n, d)`` at the chosen test samples; ``decode``
    is the decoder for a matrix-free store, None for a stored basis."""
    if decode is not None:
        lsqr = job.params["lsqr"]
        parts = [
            project_matrix_free(decode, torch.from_numpy(np.asarray(tangent["latents"][i])).to(job.device),
                                attribution[j : j + 1], damp=lsqr["damp"], atol=lsqr["atol"],
                                max_iter=lsqr["max_iter"]).tangent[0]
            for j, i in enumerate(choice)
        ]  # fmt: skip
        parallel = np.stack(parts)
        return parallel, attribution - parallel
    basis = np.asarray(
        tangent["basis"].get_orthogonal_selection((choice, slice(None), slice(None)))
    )
    return project(basis, attribution)


def main(job):
    align = xr.open_zarr(job.input.alignment, consolidated=False).load()
    attributions = open_store(job.input.attributions, required=("attribution", "sample_index"))
    tangent = open_store(job.input.tangent)
    methods = [str(m) for m in align["method"].values]
    rng = np.random.default_rng(job.seed("fig2"))
    chooser = "gradient" if "gradient" in methods else methods[0]
    choice = choose_fig2_examples(
        align["fraction"].sel({"method": chooser}).values, align["label"].values, align["predicted"].values,
        int(store_attrs(job.input.data)["n_classes"]), rng, quantile=job.params["quantile"],
    )[: job.params["columns"]]  # fmt: skip
    images = read_rows(
        job.input.data, "images", np.asarray(attributions["sample_index"][...])[choice]
    )
    decode = None
    if tangent.attrs.get("projection") == "matrix_free":
        decode = prepare_decoder(load_model(job.input.manifold, job.device)).decode
    parts = {}
    for m, method in enumerate(attributions.attrs["methods"]):
        attr = np.asarray(attributions["attribution"].get_orthogonal_selection((m, choice)))
        parallel, orthogonal = tangent_parts(
            tangent, attr.reshape(len(choice), -1), choice, decode, job
        )
        fraction = align["fraction"].sel({"method": method}).values[choice]
        parts[method] = (parallel.reshape(attr.shape), orthogonal.reshape(attr.shape), fraction)
    title = f"{job.wildcards['dataset']} seed {job.wildcards['seed']}: tangent (upper) and orthogonal (lower) parts"
    fig2_decomposition(images, parts, job.output.figure, title=title, dpi=job.params["dpi"])
    job.metrics = {"test_samples": [int(i) for i in choice]}


run_job(snakemake, main)
