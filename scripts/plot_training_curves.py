"""Rules plot_fig6 and plot_fig15: one dataset's training curves (each seed's, their mean, and a 90% band
across three or more seeds), one panel per regime; Figure 15 adds every tracked method, the random-vector
line and a row of errors."""

from manifold_xai.jobs import run_job


def main(job):
    import xarray as xr

    from manifold_xai.evaluation.curves import summarize_curves
    from manifold_xai.figures.curves import training_curves
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    runs = {
        tuple(run): xr.open_zarr(path, consolidated=False)
        for path, run in zip(job.input.stores, job.params["runs"], strict=True)
    }
    summary = summarize_curves(runs).compute().sel(dataset=job.wildcards["dataset"])
    methods = job.params["methods"] or [str(m) for m in summary["method_name"].values]
    seeds = sorted({seed for _, seed, _ in job.params["runs"]})
    training_curves(
        summary,
        job.params["regimes"],
        methods,
        job.output.figure,
        title=job.wildcards["dataset"],
        errors=job.params["errors"],
        dpi=job.params["dpi"],
        note=f"seeds {seeds}",
    )


run_job(snakemake, main)
