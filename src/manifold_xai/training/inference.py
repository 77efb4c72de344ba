"""Inference with trained models, in eval mode and without gradients: logits, reconstructions x ↦ D(E(x)),
and accuracy. Images are ``(n, c, h, w) float32`` in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def predict_logits(
    model: nn.Module, images: np.ndarray, device: torch.device, batch_size: int = 512
) -> np.ndarray:
    """``(n, n_classes) float32`` logits in eval mode."""
    model.eval()
    out = [
        model(torch.from_numpy(images[i : i + batch_size]).to(device)).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


@torch.no_grad()
def reconstruct(
    vae: nn.Module, images: np.ndarray, device: torch.device, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """``(latents (n, k), reconstructions (n, c, h, w))`` with the encoder mean: x ↦ D(E(x))."""
    vae.eval()
    zs, xs = [], []
    for i in range(0, len(images), batch_size):
        z = vae.encode(torch.from_numpy(images[i : i + batch_size]).to(device))
        zs.append(z.cpu())
        xs.append(vae.decode(z).cpu())
    return torch.cat(zs).numpy(), torch.cat(xs).numpy()


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean()) if len(labels) else math.nan
