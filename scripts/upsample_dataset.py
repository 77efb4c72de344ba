"""Rule upsample_dataset: the base dataset's samples (same latents, labels and split) with each image
bilinearly upsampled, i.e. decoded by the upsampled decoder (docs/paper.md §1.2, MNIST256)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import torch

    from manifold_xai.data.dataset_store import Dataset, read_dataset, write_dataset
    from manifold_xai.models.upsampled import upsample

    base = read_dataset(job.input.data)
    size = job.params["upsample"]["image_size"]
    batch = 256
    images = np.concatenate(
        [
            upsample(torch.from_numpy(base.images[i : i + batch]), size).numpy()
            for i in range(0, len(base.images), batch)
        ]
    )
    attrs = {
        **base.attrs,
        "approach": "upsampled",
        "image_shape": list(images.shape[1:]),
        "base": job.params["upsample"]["base"],
    }
    write_dataset(job.output.store, Dataset(images, base.labels, base.latents, base.split, attrs))
    job.metrics = {"n": len(images), "image_shape": attrs["image_shape"]}


run_job(snakemake, main)
