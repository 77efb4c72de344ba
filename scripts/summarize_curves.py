"""Rule summarize_curves: stack every run's training curve into summary/curves.zarr (dims dataset, seed,
regime, method_name, step) and write summary/curves.csv (one row per run, method and checkpoint)."""

from manifold_xai.jobs import run_job


def main(job):
    import xarray as xr

    from manifold_xai.evaluation.curves import curve_rows, summarize_curves
    from manifold_xai.evaluation.reductions import with_seed_columns
    from manifold_xai.runtime import dask_scheduler
    from manifold_xai.store import write_csv, write_xarray

    runs = {
        tuple(run): xr.open_zarr(path, consolidated=False)
        for path, run in zip(job.input.stores, job.params["runs"], strict=True)
    }
    with dask_scheduler(job.threads, **job.params["dask"]):
        summary = summarize_curves(runs).compute()
    # beside each run's interval over images: the estimate across seeds at the same step
    table = with_seed_columns(curve_rows(summary), ["dataset", "regime", "method", "step"])
    write_csv(job.output.csv, table)
    write_xarray(summary, job.output.store)
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
