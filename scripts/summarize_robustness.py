"""Rule summarize_robustness: every run's on- and off-manifold robustness per checkpoint and noise norm,
beside the gradient's mean fraction in tangent space at the same checkpoint (summary/curves.csv), in
summary/robustness.csv."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd
    import xarray as xr

    from manifold_xai.evaluation.robustness import robustness_table
    from manifold_xai.store import write_csv

    runs = {
        tuple(run): xr.open_zarr(path, consolidated=False).load()
        for path, run in zip(job.input.stores, job.params["runs"], strict=True)
    }
    table = robustness_table(runs, pd.read_csv(job.input.curves))
    write_csv(job.output.csv, table)
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
