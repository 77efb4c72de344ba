"""Rule plot_fig4: Figure 4 for one run: correctly classified test images with each method's attribution
and its fraction in tangent space."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.figures.attribution import fig4_examples
    from manifold_xai.figures.style import use_styles
    from manifold_xai.store import open_store

    use_styles(job.params["styles"])
    align = xr.open_zarr(job.input.alignment, consolidated=False).load()
    store = open_store(job.input.attributions, required=("attribution", "sample_index"))
    correct = np.flatnonzero(align["label"].values == align["predicted"].values)
    pool = correct if len(correct) else np.arange(align.sizes["sample"])
    rng = np.random.default_rng(job.stage_seed("fig4"))
    choice = np.sort(rng.choice(pool, size=min(job.params["examples"], len(pool)), replace=False))
    images = read_rows(job.input.data, "images", np.asarray(store["sample_index"][...])[choice])
    methods = list(store.attrs["methods"])
    attributions = {
        m: np.asarray(store["attribution"].get_orthogonal_selection((i, choice)))
        for i, m in enumerate(methods)
    }
    fractions = {m: align["fraction"].sel({"method_name": m}).values[choice] for m in methods}
    captions = [
        f"label {int(align['label'].values[i])}, predicted {int(align['predicted'].values[i])}"
        for i in choice
    ]
    title = (
        f"{job.wildcards['dataset']} seed {job.wildcards['seed']}: attributions and their fraction in "
        f"tangent space (random: {float(align.attrs['baseline']):.3f})"
    )
    fig4_examples(
        images,
        attributions,
        fractions,
        job.output.figure,
        title=title,
        dpi=job.params["dpi"],
        captions=captions,
    )
    job.metrics = {"test_samples": [int(i) for i in choice]}


run_job(snakemake, main)
