"""Rule sample_dataset: draw train and test sets from the VAE prior with rejection sampling (Algorithm 1)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import torch

    from manifold_xai.data.dataset_store import Dataset, write_dataset
    from manifold_xai.data.generative import rejection_sample
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.models.io import GENERATIVE_CLASSES, load_model

    p = job.params["sampling"]
    vae = load_model(job.input.manifold, job.device, expect=GENERATIVE_CLASSES)
    labeller = load_model(job.input.labeller, job.device)
    # As the paper: the test set is drawn right after the training set, continuing the RNG stream.
    generator = torch.Generator().manual_seed(job.seed("sampling"))
    parts = [
        rejection_sample(
            vae.decode,
            labeller,
            n,
            vae.latent_dim,
            p["rejection_power"],
            generator,
            job.device,
            batch_size=p["batch_size"],
        )
        for n in (p["n_train"], p["n_test"])
    ]
    train, test = parts
    n_classes = labeller.n_classes
    split = np.concatenate(
        [np.full(p["n_train"], TRAIN, np.int8), np.full(p["n_test"], TEST, np.int8)]
    )
    labels = np.concatenate([train.labels, test.labels])
    attrs = {
        "approach": "generative",
        "n_classes": n_classes,
        "latent_dim": vae.latent_dim,
        "image_shape": list(train.images.shape[1:]),
        "acceptance_rate": (len(labels)) / (train.n_proposed + test.n_proposed),
        "class_balance": (np.bincount(labels, minlength=n_classes) / len(labels)).round(4).tolist(),
        "mean_p_max": float(np.concatenate([train.p_max, test.p_max]).mean()),
    }
    write_dataset(
        job.output.store,
        Dataset(
            np.concatenate([train.images, test.images]),
            labels,
            np.concatenate([train.latents, test.latents]),
            split,
            attrs,
        ),
    )
    job.metrics = {k: attrs[k] for k in ("acceptance_rate", "class_balance", "mean_p_max")}


run_job(snakemake, main)
