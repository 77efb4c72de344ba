"""Rule train_manifold: fit the manifold model on the source's training images: the β-TCVAE
(``model: btcvae``) or the deterministic conv autoencoder (``model: autoencoder``, reconstructive)."""

from manifold_xai.jobs import run_job


def main(job):
    import torch

    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TRAIN
    from manifold_xai.models.autoencoder import ConvAutoEncoder
    from manifold_xai.models.io import save_model
    from manifold_xai.models.vae import BurgessVAE
    from manifold_xai.store import write_json
    from manifold_xai.training.loops import train_autoencoder, train_btcvae

    p = job.params["manifold"]
    images, _, _ = read_dataset(job.input.source).part(TRAIN)
    generator = torch.Generator().manual_seed(job.seed("manifold"))
    # Killed mid-training, the job resumes from the end of its last epoch (state beside the model).
    resume = job.training_state()
    common = {
        "epochs": p["epochs"],
        "lr": p["lr"],
        "batch_size": p["batch_size"],
        "generator": generator,
        "device": job.device,
        "resume": resume,
    }
    if p["model"] == "btcvae":
        name = "burgess_vae"
        kwargs = {
            "channels": images.shape[1],
            "image_size": images.shape[-1],
            "latent_dim": p["latent_dim"],
        }
        model = BurgessVAE(**kwargs)
        history = train_btcvae(
            model,
            images,
            alpha=p["alpha"],
            beta=p["beta"],
            gamma=p["gamma"],
            reg_anneal_steps=p["reg_anneal_steps"],
            **common,
        )
    else:
        name = "conv_autoencoder"
        model = ConvAutoEncoder(
            channels=images.shape[1],
            image_size=tuple(images.shape[-2:]),
            latent_channels=p["latent_channels"],
            n_res_block=p["n_res_block"],
            n_res_channel=p["n_res_channel"],
            stride=p["stride"],
        )
        kwargs = model.constructor_kwargs()
        history = train_autoencoder(model, images, lr_schedule=p["lr_schedule"], **common)
    save_model(job.output.model, name, kwargs, model)
    job.metrics = {"final": history[-1], "n_train": len(images), "latent_dim": model.latent_dim}
    write_json(job.output.metrics, {"history": history, **job.metrics})
    resume.clear()


run_job(snakemake, main)
