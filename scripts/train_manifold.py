"""Rule train_manifold: fit the β-TCVAE manifold model on the source's training images."""

import torch

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.data.splits import TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.io import save_model
from manifold_xai.models.vae import BurgessVAE
from manifold_xai.store import write_json
from manifold_xai.training import train_btcvae


def main(job):
    p = job.params["manifold"]
    images, _, _ = read_dataset(job.input.source).part(TRAIN)
    seed = job.seed("manifold")
    kwargs = {
        "channels": images.shape[1],
        "image_size": images.shape[-1],
        "latent_dim": p["latent_dim"],
    }
    vae = BurgessVAE(**kwargs)
    history = train_btcvae(
        vae, images, epochs=p["epochs"], lr=p["lr"], batch_size=p["batch_size"], alpha=p["alpha"],
        beta=p["beta"], gamma=p["gamma"], reg_anneal_steps=p["reg_anneal_steps"],
        generator=torch.Generator().manual_seed(seed), device=job.device,
    )  # fmt: skip
    save_model(job.output.model, "burgess_vae", kwargs, vae)
    job.metrics = {"final": history[-1], "n_train": len(images)}
    write_json(job.output.metrics, {"history": history, **job.metrics})


run_job(snakemake, main)
