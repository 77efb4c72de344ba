"""Rule summarize_alignment: stack every run into summary/alignment.zarr and write summary/alignment.csv."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd
    import xarray as xr

    from manifold_xai.evaluation.alignment import SUMMARY_COLUMNS, summary_rows
    from manifold_xai.evaluation.reductions import stack_runs, with_seed_columns
    from manifold_xai.store import write_csv, write_xarray

    runs, rows = {}, []
    for path, (dataset, seed, regime) in zip(job.input.stores, job.params["runs"], strict=True):
        ds = xr.open_zarr(path, consolidated=False).load()
        runs[(dataset, seed, regime)] = ds
        rows += summary_rows(
            ds,
            dataset=dataset,
            seed=seed,
            regime=regime,
            n_resamples=job.params["bootstrap_resamples"],
            correct_only=job.params["correct_only"][dataset],
        )
    # the estimate across seeds (the replicates of the training procedure) beside each per-seed row
    table = with_seed_columns(
        pd.DataFrame(rows, columns=SUMMARY_COLUMNS), ["dataset", "regime", "method"]
    )
    write_csv(job.output.csv, table)
    stacked = stack_runs(runs, ["fraction", "random_fraction"])
    write_xarray(stacked, job.output.store)
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
