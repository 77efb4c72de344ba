"""Rule compare_tangent_sources: principal angles between each tangent source and the dataset's own
tangent space at every test point, each source's per-image dimension, and the Levina-Bickel estimate
of the dimension at every test point from the training images (``tangent_angles.zarr``)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.data.splits import TRAIN
    from manifold_xai.store import write_xarray
    from manifold_xai.tangent.dimension import levina_bickel
    from manifold_xai.tangent.sources import angles_to_reference

    ds = angles_to_reference(
        job.input.reference, dict(zip(job.params["sources"], job.input.others, strict=True))
    )
    index = np.asarray(ds.attrs.pop("sample_index"))
    test = read_rows(job.input.data, "images", index)
    train = read_rows(
        job.input.data, "images", np.flatnonzero(read_rows(job.input.data, "split") == TRAIN)
    )
    neighbours = job.params["levina_bickel"]["neighbours"]
    ds["mle"] = (
        "sample",
        levina_bickel(test.reshape(len(test), -1), train.reshape(len(train), -1), neighbours),
    )
    ds.attrs["mle_neighbours"] = neighbours
    ds.attrs.update({"dataset": job.wildcards["dataset"], "seed": int(job.wildcards["seed"])})
    write_xarray(ds, job.output.store)
    job.metrics = {
        str(s): float(ds["angle"].sel({"source": s}).mean()) for s in ds["source"].values
    }


run_job(snakemake, main)
