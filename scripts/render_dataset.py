"""Rule render_dataset (analytic approach): the run's dataset is the torus source itself, with each image's
angles as its latents; the images are checked against the saved renderer, so the exact tangent spaces are
taken at the points the images really are."""

from manifold_xai.jobs import run_job

TOLERANCE = 1e-5  # float32 rendering on another device or torch version differs by ~1e-7


def main(job):
    import numpy as np
    import torch

    from manifold_xai.data.dataset_store import Dataset, read_dataset, write_dataset
    from manifold_xai.models.io import load_model

    source = read_dataset(job.input.source)
    renderer = load_model(job.input.manifold, job.device, expect="torus_renderer")
    if source.latents.shape[1] != renderer.latent_dim:
        raise ValueError(
            f"{job.input.source} has {source.latents.shape[1]} latent columns, the renderer "
            f"takes {renderer.latent_dim} angles"
        )
    with torch.no_grad():
        rendered = np.concatenate(
            [
                renderer.decode(torch.from_numpy(source.latents[i : i + 1024]).to(job.device))
                .cpu()
                .numpy()
                for i in range(0, len(source.latents), 1024)
            ]
        )
    error = float(np.abs(rendered - source.images).max())
    if error > TOLERANCE:
        raise ValueError(
            f"{job.input.source} images differ from the renderer's by up to {error:.3g}: "
            f"the source and the manifold model were made with different settings"
        )
    n_classes = int(source.attrs["n_classes"])
    attrs = {
        "approach": "analytic",
        "n_classes": n_classes,
        "latent_dim": renderer.latent_dim,
        "image_shape": list(source.images.shape[1:]),
        "source_description": source.attrs.get("description", ""),
        "render_max_abs_error": error,
        "class_balance": (np.bincount(source.labels, minlength=n_classes) / len(source.labels))
        .round(4)
        .tolist(),
    }
    write_dataset(
        job.output.store, Dataset(source.images, source.labels, source.latents, source.split, attrs)
    )
    job.metrics = {"n": len(source.images), "render_max_abs_error": error}


run_job(snakemake, main)
