"""Rule summarize_counterfactuals: every run's walks, per (method, direction), in
summary/counterfactuals.csv (``manifold_xai.evaluation.counterfactuals.counterfactual_rows``)."""

from manifold_xai.jobs import run_job


def main(job):
    import xarray as xr

    from manifold_xai.evaluation.counterfactuals import counterfactual_rows, counterfactual_table
    from manifold_xai.store import write_csv

    rows = []
    for path in job.input.stores:
        ds = xr.open_zarr(path, consolidated=False).drop_vars("path").load()
        rows += counterfactual_rows(ds, job.params["bootstrap_resamples"])
    table = counterfactual_table(rows)
    write_csv(job.output.csv, table)
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
