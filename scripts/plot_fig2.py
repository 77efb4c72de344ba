"""Rule plot_fig2: Figure 2 for one run: test images and each attribution's tangent and orthogonal parts."""

import numpy as np
import xarray as xr

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.figures import choose_fig2_examples, fig2_decomposition
from manifold_xai.jobs import run_job
from manifold_xai.store import open_store
from manifold_xai.tangent import project


def main(job):
    data = read_dataset(job.input.data)
    align = xr.open_zarr(job.input.alignment, consolidated=False).load()
    attributions = open_store(job.input.attributions, required=("attribution",))
    basis_arr = open_store(job.input.tangent, required=("basis",))["basis"]
    rng = np.random.default_rng(job.seed("fig2"))
    choice = choose_fig2_examples(
        align["fraction"].sel({"method": "gradient" if "gradient" in align["method"] else align["method"][0]}).values,
        align["label"].values, align["predicted"].values, int(data.attrs["n_classes"]), rng,
    )[: job.params["columns"]]  # fmt: skip
    images = data.images[data.test_index[choice]]
    basis = np.asarray(basis_arr.get_orthogonal_selection((choice, slice(None), slice(None))))
    parts = {}
    for m, method in enumerate(attributions.attrs["methods"]):
        attr = np.asarray(attributions["attribution"].get_orthogonal_selection((m, choice)))
        tangent, orthogonal = project(basis, attr.reshape(len(choice), -1))
        fraction = align["fraction"].sel({"method": method}).values[choice]
        parts[method] = (tangent.reshape(attr.shape), orthogonal.reshape(attr.shape), fraction)
    title = f"{job.wildcards['dataset']} seed {job.wildcards['seed']}: tangent (upper) and orthogonal (lower) parts"
    fig2_decomposition(images, parts, job.output.figure, title=title, dpi=job.params["dpi"])
    job.metrics = {"test_samples": [int(i) for i in choice]}


run_job(snakemake, main)
