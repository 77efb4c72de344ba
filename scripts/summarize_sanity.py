"""Rule summarize_sanity: ``summary/sanity.csv``, one row per (dataset, seed, mode, layer, method): the
mean over test images of the Spearman correlation (|a| and a) and SSIM between the original and the
randomised attribution, the randomised attribution's mean fraction in tangent space and the original's."""

from manifold_xai.jobs import run_job


def sanity_rows(ds: "xr.Dataset") -> list[dict]:
    rows = []
    for mode in ds["mode"].values:
        for step, layer in enumerate(ds["layer"].values):
            for method in ds["method_name"].values:
                at = ds.sel({"mode": mode, "layer": layer, "method_name": method})
                rows.append(
                    {
                        "dataset": ds.attrs["dataset"],
                        "seed": ds.attrs["seed"],
                        "mode": str(mode),
                        "step": step + 1,
                        "layer": str(layer),
                        "method": str(method),
                        **{
                            k: float(at[k].mean())
                            for k in ("spearman_abs", "spearman", "ssim", "fraction")
                        },
                        "original_fraction": float(
                            ds["original_fraction"].sel({"method_name": method}).mean()
                        ),
                    }
                )
    return rows


def main(job):
    import pandas as pd
    import xarray as xr

    from manifold_xai.store import write_csv

    rows = [
        row
        for p in job.input.stores
        for row in sanity_rows(xr.open_zarr(p, consolidated=False).load())
    ]
    table = pd.DataFrame(rows)
    write_csv(job.output.table, table)
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
