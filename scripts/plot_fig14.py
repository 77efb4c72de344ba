"""Rule plot_fig14: replications, the density of the fraction per method for each seed (standard regime)."""

from manifold_xai.jobs import run_job


def main(job):
    import xarray as xr

    from manifold_xai.figures.alignment import fig14_replications
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    per_seed, baseline = {}, {}
    for path in job.input.stores:
        run = xr.open_zarr(path, consolidated=False).load()
        seed = int(run.attrs["seed"])
        per_seed[seed] = {
            str(m): run["fraction"].sel({"method_name": m}).values
            for m in run["method_name"].values
        }
        baseline[seed] = float(run.attrs["baseline"])
    fig14_replications(
        per_seed,
        baseline,
        f"{job.wildcards['dataset']}: replications",
        job.output.figure,
        dpi=job.params["dpi"],
    )


run_job(snakemake, main)
