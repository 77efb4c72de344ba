"""Rule plot_fig3: Figure 3 for one dataset: density of the fraction per method, pooled over seeds."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.figures.alignment import fig3_fraction_distributions
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    runs = [xr.open_zarr(p, consolidated=False).load() for p in job.input.stores]
    methods = [str(m) for m in runs[0]["method_name"].values]
    fractions = {
        m: np.concatenate([r["fraction"].sel({"method_name": m}).values for r in runs])
        for m in methods
    }
    seeds = sorted(int(r.attrs["seed"]) for r in runs)
    n = sum(r.sizes["sample"] for r in runs)
    fig3_fraction_distributions(
        fractions,
        float(runs[0].attrs["baseline"]),
        job.wildcards["dataset"],
        job.output.figure,
        dpi=job.params["dpi"],
        note=f"{n} test images, seeds {seeds}",
    )
    job.metrics = {m: float(np.nanmean(v)) for m, v in fractions.items()}


run_job(snakemake, main)
