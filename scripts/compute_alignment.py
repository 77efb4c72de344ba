"""Rule compute_alignment: fraction in tangent space per method and sample (Dask over the Zarr chunks)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import read_rows, test_rows
    from manifold_xai.evaluation.alignment import alignment_dataset, defined_samples
    from manifold_xai.store import open_store, write_xarray

    labels = read_rows(job.input.data, "labels", test_rows(job.input.data, job.params["n_test"]))
    tangent_attrs = open_store(job.input.tangent).attrs
    ds = alignment_dataset(
        job.input.tangent,
        job.input.attributions,
        labels=labels,
        seed=job.stage_seed(f"alignment/{job.wildcards['regime']}"),
        threads=job.threads,
        manifold=job.input.get("manifold"),
        device=job.device_request,
        dask=job.params["dask"],
    )
    ds.attrs.update(
        {
            "dataset": job.wildcards["dataset"],
            "seed": int(job.wildcards["seed"]),
            "regime": job.wildcards["regime"],
            "tangent_source": tangent_attrs.get("tangent_source", "vae"),
        }
    )
    write_xarray(ds, job.output.store)
    job.metrics = {
        "mean_fraction": {
            str(m): float(ds["fraction"].sel({"method_name": m}).mean())
            for m in ds["method_name"].values
        },
        "random_mean": float(ds["random_fraction"].mean()),
        "baseline": ds.attrs["baseline"],
        "undefined": int((~defined_samples(ds)).sum()),
        "rank_counts": {
            int(r): int(c)
            for r, c in zip(*np.unique(ds["rank"].values, return_counts=True), strict=True)
        },
    }


run_job(snakemake, main)
