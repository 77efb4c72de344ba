"""Rule compute_tangent_source: a second tangent store at the same test points as ``tangent.zarr``, from
another source: ``vae`` (a β-TCVAE trained on an analytic dataset's images, taken at the encoder mean of
each test image) or ``local_pca`` (PCA of the differences to the nearest training images)."""

import numpy as np

from manifold_xai.data.dataset_store import read_rows, store_attrs, test_rows
from manifold_xai.data.splits import TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.io import load_model
from manifold_xai.tangent import prepare_decoder, write_tangent_store
from manifold_xai.tangent_sources import local_pca_store
from manifold_xai.training import reconstruct


def main(job):
    source, p = job.wildcards["source"], job.params["settings"]
    index = test_rows(job.input.data, job.params["n_test"])
    image_shape = tuple(store_attrs(job.input.data)["image_shape"])
    images = read_rows(job.input.data, "images", index)
    if source == "vae":
        vae = load_model(job.input.model, job.device, expect="burgess_vae")
        latents, _ = reconstruct(vae, images, job.device)
        t = p["tangent"]
        job.metrics = write_tangent_store(
            job.output.store, prepare_decoder(vae).decode, latents, index, image_shape, device=job.device,
            rtol=t["rank_rtol"], method=t["orthonormalisation"], rank_rule=t["rank_rule"],
            batch_size=None if t["batch_size"] == "auto" else t["batch_size"], chunk_mb=t["chunk_mb"],
            attrs={"tangent_source": "vae"},
        )  # fmt: skip
    else:
        split = read_rows(job.input.data, "split")
        reference = read_rows(job.input.data, "images", np.flatnonzero(split == TRAIN))
        job.metrics = local_pca_store(
            job.output.store, images.reshape(len(images), -1), reference.reshape(len(reference), -1), index,
            image_shape, k=p["k"], neighbours=p["neighbours"], batch_size=p["batch_size"],
        )  # fmt: skip


run_job(snakemake, main)
