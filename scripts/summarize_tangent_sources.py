"""Rule summarize_tangent_sources: ``summary/tangent_accuracy.csv`` (principal angles of each tangent
source to the dataset's own, per run) and ``summary/tangent_fractions.csv`` (the fraction of every
attribution method under every tangent source, per run and regime) and ``summary/intrinsic_dimension.csv``
(the per-image dimension of every source's tangent spaces, per run)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd
    import xarray as xr

    from manifold_xai.evaluation.alignment import SUMMARY_COLUMNS, summary_rows
    from manifold_xai.evaluation.reductions import with_seed_columns
    from manifold_xai.store import write_csv
    from manifold_xai.tangent.sources import (
        ACCURACY_COLUMNS,
        DIMENSION_COLUMNS,
        accuracy_rows,
        dimension_rows,
    )

    n_resamples = job.params["bootstrap_resamples"]
    accuracy, dimensions, own = [], [], {}
    for path, (dataset, seed) in zip(job.input.angles, job.params["angle_runs"], strict=True):
        ds = xr.open_zarr(path, consolidated=False).load()
        accuracy += accuracy_rows(ds, dataset=dataset, seed=seed, n_resamples=n_resamples)
        dimensions += dimension_rows(
            ds,
            dataset=dataset,
            seed=seed,
            published=job.params["published"].get(dataset, ""),
            mle_neighbours=ds.attrs.get("mle_neighbours", 0),
        )
        own[dataset] = ds.attrs["reference"]
    fractions = []
    for path, (dataset, seed, regime, source) in zip(
        job.input.stores, job.params["source_runs"], strict=True
    ):
        ds = xr.open_zarr(path, consolidated=False).load()
        fractions += [
            {**row, "source": source, "own_source": own[dataset]}
            for row in summary_rows(
                ds, dataset=dataset, seed=seed, regime=regime, n_resamples=n_resamples
            )
        ]
    columns = SUMMARY_COLUMNS[:3] + ["source"] + SUMMARY_COLUMNS[3:] + ["own_source"]
    accuracy = with_seed_columns(
        pd.DataFrame(accuracy, columns=ACCURACY_COLUMNS),
        ["dataset", "source"],
        value="principal_angle_mean_deg",
    )
    fractions = with_seed_columns(
        pd.DataFrame(fractions, columns=columns), ["dataset", "regime", "source", "method"]
    )
    write_csv(job.output.accuracy, accuracy)
    write_csv(job.output.fractions, fractions)
    write_csv(job.output.dimensions, pd.DataFrame(dimensions, columns=DIMENSION_COLUMNS))
    job.metrics = {
        "accuracy_rows": len(accuracy),
        "fraction_rows": len(fractions),
        "dimension_rows": len(dimensions),
    }


run_job(snakemake, main)
