"""Rule plot_sanity: the sanity-check figure of one dataset: per randomisation mode, the mean Spearman
correlation (|a|), SSIM and fraction in tangent space of each method's randomised attribution, layer by
layer from the output layer (mean over seeds and test images)."""

import xarray as xr

from manifold_xai.figures import sanity_figure, use_styles
from manifold_xai.jobs import run_job


def main(job):
    use_styles(job.params["styles"])
    runs = [xr.open_zarr(p, consolidated=False).load() for p in job.input.stores]
    mean = xr.concat(
        [r[["spearman_abs", "ssim", "fraction"]].mean("sample") for r in runs], dim="run"
    ).mean("run")
    sanity_figure(
        mean,
        job.output.figure,
        title=job.wildcards["dataset"],
        dpi=job.params["dpi"],
        note=f"seeds {sorted(r.attrs['seed'] for r in runs)}, {runs[0].sizes['sample']} test images each",
    )
    job.metrics = {
        "spearman_abs_fully_randomised": {
            str(m): float(mean["spearman_abs"].sel({"method_name": m}).isel(mode=0, layer=-1))
            for m in mean["method_name"].values
        }
    }


run_job(snakemake, main)
