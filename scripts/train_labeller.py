"""Rule train_labeller: the labelling function c(x), trained on VAE reconstructions of the source images."""

import torch

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.data.splits import TEST, TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.models.io import GENERATIVE_CLASSES, load_model, save_model
from manifold_xai.store import write_json
from manifold_xai.training.inference import accuracy, predict_logits, reconstruct
from manifold_xai.training.loops import train_classifier


def main(job):
    p = job.params["labeller"]
    source = read_dataset(job.input.source)
    vae = load_model(job.input.manifold, job.device, expect=GENERATIVE_CLASSES)
    train_x, train_y, _ = source.part(TRAIN)
    test_x, test_y, _ = source.part(TEST)
    _, train_rec = reconstruct(vae, train_x, job.device)
    _, test_rec = reconstruct(vae, test_x, job.device)
    seed = job.seed("labeller")
    kwargs = {
        "channels": train_x.shape[1],
        "image_size": train_x.shape[-1],
        "n_classes": source.attrs["n_classes"],
    }
    if p["arch"] == "simplenet":
        kwargs["width"] = p["width"]
    model = build_classifier(p["arch"], **kwargs)
    history = train_classifier(
        model,
        train_rec,
        train_y,
        epochs=p["epochs"],
        lr=p["lr"],
        batch_size=p["batch_size"],
        lr_step_epochs=p["epochs"],
        lr_gamma=1.0,
        generator=torch.Generator().manual_seed(seed),
        device=job.device,
    )
    save_model(job.output.model, p["arch"], kwargs, model)
    job.metrics = {
        "test_accuracy_reconstructions": accuracy(
            predict_logits(model, test_rec, job.device), test_y
        ),
        "test_accuracy_originals": accuracy(predict_logits(model, test_x, job.device), test_y),
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})


run_job(snakemake, main)
