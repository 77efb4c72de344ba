"""Rule prepare_source: load the dataset's source images into ``source.zarr`` (images, labels, split; and
latents for a source on a known manifold)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import Dataset, write_dataset
    from manifold_xai.data.sources import load_source

    src = load_source(job.params["source"])
    attrs = {
        "description": src.description,
        "n_classes": src.n_classes,
        "image_shape": list(src.images.shape[1:]),
        "source": job.params["source"],
        "files": src.files,  # the digests of the packaged files the images were read from
    }
    # Real images have no latents; a known manifold's source (torus) keeps each image's coordinates.
    latents = np.zeros((len(src.images), 0), np.float32) if src.latents is None else src.latents
    write_dataset(job.output.store, Dataset(src.images, src.labels, latents, src.split, attrs))
    job.metrics = {"n": len(src.images), "n_test": int((src.split == 1).sum()), "files": src.files}


run_job(snakemake, main)
