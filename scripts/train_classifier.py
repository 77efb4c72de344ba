"""Rule train_classifier: train a classifier on the generated training set (regime ``standard``)."""

import torch

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.data.sources import TEST, TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.models.io import save_model
from manifold_xai.store import write_json
from manifold_xai.training import accuracy, predict_logits, train_classifier


def main(job):
    p, regime = job.params["classifier"], job.wildcards["regime"]
    data = read_dataset(job.input.data)
    train_x, train_y, _ = data.part(TRAIN)
    test_x, test_y, _ = data.part(TEST)
    seed = job.seed(f"classifier/{regime}")
    kwargs = {
        "channels": train_x.shape[1],
        "image_size": train_x.shape[-1],
        "n_classes": data.attrs["n_classes"],
    }
    model = build_classifier(p["arch"], **kwargs)
    history = train_classifier(
        model, train_x, train_y, epochs=p["epochs"], lr=p["lr"], batch_size=p["batch_size"],
        lr_step_epochs=p["lr_step_epochs"], lr_gamma=p["lr_gamma"],
        generator=torch.Generator().manual_seed(seed), device=job.device,
    )  # fmt: skip
    save_model(job.output.model, p["arch"], kwargs, model)
    test_acc = accuracy(predict_logits(model, test_x, job.device), test_y)
    job.metrics = {
        "regime": regime,
        "test_accuracy": test_acc,
        "train_accuracy": history[-1]["train_accuracy"],
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})


run_job(snakemake, main)
