"""The labelling function c(x) of a generative dataset (docs/paper.md §1.1): built from its config block
and trained with Adam at a constant learning rate, as the paper's notebook does."""

from __future__ import annotations

import numpy as np
import torch

from manifold_xai.models.classifiers import build_classifier
from manifold_xai.training.loops import train_classifier


def labeller_kwargs(labeller: dict, images: np.ndarray, n_classes: int) -> dict:
    """The architecture's keyword arguments for ``images`` ``(n, c, h, w)``: channels, side, classes
    and, for SimpleNet, its width."""
    kwargs = {"channels": images.shape[1], "image_size": images.shape[-1], "n_classes": n_classes}
    if labeller["arch"] == "simplenet":
        kwargs["width"] = labeller["width"]
    return kwargs


def fit_labeller(
    labeller: dict,
    kwargs: dict,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    device,
    epochs=None,
):
    """``(model, history)``: the labeller of config block ``labeller`` trained on ``images``
    ``(n, c, h, w) float32`` in [0, 1] with ``labels`` ``(n,) int``, batches drawn from ``seed``;
    ``epochs`` overrides the block's."""
    epochs = labeller["epochs"] if epochs is None else epochs
    model = build_classifier(labeller["arch"], **kwargs)
    history = train_classifier(
        model,
        images,
        labels,
        epochs=epochs,
        lr=labeller["lr"],
        batch_size=labeller["batch_size"],
        lr_step_epochs=epochs,
        lr_gamma=1.0,
        generator=torch.Generator().manual_seed(seed),
        device=device,
    )
    return model, history
