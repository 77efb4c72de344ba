"""Rule plot_sanity: the sanity-check figure of one dataset: per randomisation mode, the mean Spearman
correlation (|a|), SSIM and fraction in tangent space of each method's randomised attribution, from the
original model layer by layer from the output layer (mean over the test images of every seed, with its
95% interval)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.figures.sanity import sanity_figure
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    runs = [xr.open_zarr(p, consolidated=False).load() for p in job.input.stores]
    keys = ["spearman_abs", "ssim", "fraction", "original_fraction"]
    pooled = xr.concat([r[keys] for r in runs], dim="sample")  # every test image of every seed
    mean = pooled.mean("sample")
    n = pooled.count("sample")
    half = 1.96 * pooled.std("sample", ddof=1) / np.sqrt(n)  # 95% interval over the images
    sanity_figure(
        mean,
        job.output.figure,
        title=job.wildcards["dataset"],
        half=half,
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
