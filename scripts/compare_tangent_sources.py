"""Rule compare_tangent_sources: principal angles between each tangent source and the dataset's own
tangent space at every test point (``tangent_angles.zarr``)."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.store import write_xarray
    from manifold_xai.tangent.sources import angles_to_reference

    ds = angles_to_reference(
        job.input.reference, dict(zip(job.params["sources"], job.input.others, strict=True))
    )
    ds.attrs.update({"dataset": job.wildcards["dataset"], "seed": int(job.wildcards["seed"])})
    write_xarray(ds, job.output.store)
    job.metrics = {
        str(s): float(ds["angle"].sel({"source": s}).mean()) for s in ds["source"].values
    }


run_job(snakemake, main)
