"""Rule train_classifier: train a classifier on the generated training set in one regime
(standard, adversarial or random_labels)."""

import torch

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.data.sources import TEST, TRAIN
from manifold_xai.jobs import run_job
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.models.io import save_model
from manifold_xai.store import write_json
from manifold_xai.training import (
    accuracy,
    permuted_labels,
    predict_logits,
    train_adversarial,
    train_classifier,
)


def main(job):
    p, regime = job.params["classifier"], job.wildcards["regime"]
    data = read_dataset(job.input.data)
    train_x, train_y, _ = data.part(TRAIN)
    test_x, test_y, _ = data.part(TEST)
    seed = job.seed(f"classifier/{regime}")
    generator = torch.Generator().manual_seed(seed)
    kwargs = {
        "channels": train_x.shape[1],
        "image_size": train_x.shape[-1],
        "n_classes": data.attrs["n_classes"],
    }
    if regime == "random_labels":
        kwargs["dropout"] = False  # the paper's MNIST32OverfitModel
        train_y = permuted_labels(train_y, job.seed("random_labels/permutation"))
    model = build_classifier(p["arch"], **kwargs)
    if regime == "adversarial":
        a = p["adversarial"]
        history = train_adversarial(
            model, train_x, train_y, epochs=a["epochs"], lr=a["lr"], batch_size=a["batch_size"],
            milestones=a["milestones"], lr_gamma=a["lr_gamma"], epsilons=a["epsilons"], steps=a["steps"],
            projection=a["projection"], generator=generator, device=job.device,
        )  # fmt: skip
    else:
        r = p["random_labels"] if regime == "random_labels" else p
        history = train_classifier(
            model, train_x, train_y, epochs=r["epochs"], lr=r["lr"], batch_size=r["batch_size"],
            lr_step_epochs=r["lr_step_epochs"], lr_gamma=r["lr_gamma"], generator=generator, device=job.device,
            target_train_accuracy=r.get("target_train_accuracy"),
        )  # fmt: skip
    save_model(job.output.model, p["arch"], kwargs, model)
    job.metrics = {
        "regime": regime,
        "test_accuracy": accuracy(predict_logits(model, test_x, job.device), test_y),
        "train_accuracy": accuracy(predict_logits(model, train_x, job.device), train_y),
        "epochs_trained": len(history),
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})


run_job(snakemake, main)
