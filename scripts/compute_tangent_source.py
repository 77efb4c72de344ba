"""Rule compute_tangent_source: a second tangent store at the same test points as ``tangent.zarr``, from
another source: ``vae`` (a β-TCVAE trained on an analytic dataset's images, taken at the encoder mean of
each test image) or ``local_pca`` (PCA of the differences to the nearest training images)."""

import numpy as np

from manifold_xai.data.dataset_store import read_rows, store_attrs, test_rows
from manifold_xai.data.splits import TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.io import load_model
from manifold_xai.tangent.bases import prepare_decoder, store_options, write_tangent_store
from manifold_xai.tangent.sources import local_pca_store
from manifold_xai.training.loops import reconstruct


def main(job):
    source, p = job.wildcards["source"], job.params["settings"]
    index = test_rows(job.input.data, job.params["n_test"])
    image_shape = tuple(store_attrs(job.input.data)["image_shape"])
    images = read_rows(job.input.data, "images", index)
    if source == "vae":
        vae = load_model(job.input.model, job.device, expect="burgess_vae")
        latents, _ = reconstruct(vae, images, job.device)
        options = {
            **store_options(p["tangent"]),
            "storage_dtype": "float32",
        }  # compared with float32 sources
        job.metrics = write_tangent_store(
            job.output.store,
            prepare_decoder(vae).decode,
            latents,
            index,
            image_shape,
            device=job.device,
            attrs={"tangent_source": "vae"},
            **options,
        )
    else:
        split = read_rows(job.input.data, "split")
        reference = read_rows(job.input.data, "images", np.flatnonzero(split == TRAIN))
        job.metrics = local_pca_store(
            job.output.store,
            images.reshape(len(images), -1),
            reference.reshape(len(reference), -1),
            index,
            image_shape,
            k=p["k"],
            neighbours=p["neighbours"],
            batch_size=p["batch_size"],
        )


run_job(snakemake, main)
