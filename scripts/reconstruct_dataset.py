"""Rule reconstruct_dataset (reconstructive approach, docs/paper.md §1.3): the run's dataset is the source
passed through the autoencoder, D(E(x)) with the true labels and split; the latents E(x) are where the
tangent spaces are taken, so every evaluated image lies exactly on the decoder manifold."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import Dataset, read_dataset, write_dataset
    from manifold_xai.models.io import MANIFOLD_CLASSES, load_model
    from manifold_xai.training.inference import reconstruct

    source = read_dataset(job.input.source)
    model = load_model(job.input.manifold, job.device, expect=MANIFOLD_CLASSES)
    latents, images = reconstruct(
        model, source.images, job.device, batch_size=job.params["batch_size"]
    )
    l1 = float(np.abs(images - source.images).mean())
    attrs = {
        "approach": "reconstructive",
        "n_classes": int(source.attrs["n_classes"]),
        "latent_dim": int(latents.shape[1]),
        "image_shape": list(images.shape[1:]),
        "source_description": source.attrs.get("description", ""),
        "reconstruction_l1": l1,
        "class_balance": (
            np.bincount(source.labels, minlength=int(source.attrs["n_classes"]))
            / len(source.labels)
        )
        .round(4)
        .tolist(),
    }
    write_dataset(job.output.store, Dataset(images, source.labels, latents, source.split, attrs))
    job.metrics = {"reconstruction_l1": l1, "n": len(images), "latent_dim": int(latents.shape[1])}


run_job(snakemake, main)
