"""Rules plot_fig2 and plot_fig11: Figure 2 (Figure 11 for MNIST256) for one run: test images and each
attribution's tangent and orthogonal parts."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.figures.attribution import choose_fig2_examples, fig2_decomposition
    from manifold_xai.figures.style import use_styles
    from manifold_xai.store import open_store
    from manifold_xai.tangent.space import open_tangent_space

    use_styles(job.params["styles"])
    align = xr.open_zarr(job.input.alignment, consolidated=False).load()
    attributions = open_store(job.input.attributions, required=("attribution", "sample_index"))
    tangent = open_tangent_space(
        job.input.tangent, manifold=job.input.manifold, device=job.device_request
    )
    methods = [str(m) for m in align["method_name"].values]
    rng = np.random.default_rng(job.stage_seed("fig2"))
    chooser = "gradient" if "gradient" in methods else methods[0]
    choice = choose_fig2_examples(
        align["fraction"].sel({"method_name": chooser}).values,
        align["label"].values,
        align["predicted"].values,
        int(store_attrs(job.input.data)["n_classes"]),
        rng,
        quantile=job.params["quantile"],
    )[: job.params["columns"]]
    images = read_rows(
        job.input.data, "images", np.asarray(attributions["sample_index"][...])[choice]
    )
    parts = {}
    for m, method in enumerate(attributions.attrs["methods"]):
        attr = np.asarray(attributions["attribution"].get_orthogonal_selection((m, choice)))
        parallel, orthogonal = tangent.decompose(attr, choice)
        fraction = align["fraction"].sel({"method_name": method}).values[choice]
        parts[method] = (parallel, orthogonal, fraction)
    title = f"{job.wildcards['dataset']} seed {job.wildcards['seed']}: tangent (upper) and orthogonal (lower) parts"
    fig2_decomposition(images, parts, job.output.figure, title=title, dpi=job.params["dpi"])
    job.metrics = {"test_samples": [int(i) for i in choice]}


run_job(snakemake, main)
