"""Training the denoiser of the decoder-free tangent source (``models.denoiser.Denoiser``).

Each minibatch image ``x`` gets its own noise level ``σ``, drawn log-uniformly from
``[sigma_min, sigma_max]``, and noise ``σ ε`` with ``ε ~ N(0, I)``; the loss is the denoising error in units
of the noise, ``‖D(x + σε, σ) − x‖² / (σ² d)``, averaged over the batch (1 is the error of the identity
map, 0 a perfect denoiser; weighting by ``1/σ²`` keeps the small noise levels, where the tangent spaces
are read, from vanishing in the loss). Adam, minibatches in seeded order, resumable at every epoch
(``training.resume``), like the other training loops.

``denoising_error`` is the same quantity on held-out images with fixed noise at one level: the history
holds it before training (epoch 0) and after every epoch, so a run shows whether training helped.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from torch import nn

from manifold_xai.training.loops import _check_finite, _kept, _resume, _save, minibatches
from manifold_xai.training.progress import Progress
from manifold_xai.training.resume import TrainingState

log = logging.getLogger(__name__)


def _scaled_error(model: nn.Module, x: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor):
    """Per-image ``‖D(x + σε, σ) − x‖² / (σ² d)`` for ``x, eps (m, c, h, w)``, ``sigma (m,)``."""
    s = sigma.reshape(-1, 1, 1, 1)
    out = model(x + s * eps, sigma)
    return ((out - x) / s).flatten(1).pow(2).mean(1)


@torch.no_grad()
def denoising_error(
    model: nn.Module,
    images: np.ndarray,
    sigma: float,
    *,
    seed: int,
    device: torch.device,
    batch_size: int = 256,
) -> float:
    """Mean ``‖D(x + σε, σ) − x‖² / (σ² d)`` over ``images (n, c, h, w) float32`` with noise drawn from
    ``seed`` (the same noise every time it is called)."""
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start : start + batch_size])
        eps = torch.randn(x.shape, generator=gen)
        level = torch.full((len(x),), float(sigma))
        total += _scaled_error(model, x.to(device), eps.to(device), level.to(device)).sum().item()
    model.train(was_training)
    return total / max(len(images), 1)


def train_denoiser(
    model: nn.Module,
    images: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    sigma_min: float,
    sigma_max: float,
    generator: torch.Generator,
    device: torch.device,
    held_out: np.ndarray,
    sigma_eval: float,
    heldout_seed: int = 0,
    resume: TrainingState | None = None,
) -> list[dict]:
    """Train ``model`` on ``images (n, c, h, w) float32`` (see the module docstring). Returns one record
    per epoch, ``{epoch, step, loss, heldout_error}``, after a record for epoch 0 (untrained);
    ``held_out``: images the error is measured on at ``sigma_eval`` with noise from ``heldout_seed``."""
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(
            f"denoiser noise levels need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}"
        )
    x_all = torch.from_numpy(images)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.to(device).train()
    history, step, start = _resume(resume, model, opt, None, generator)

    def held_out_error() -> float:
        return denoising_error(model, held_out, sigma_eval, seed=heldout_seed, device=device)

    if start == 0:
        history.append({"epoch": 0, "step": 0, "loss": math.nan, "heldout_error": held_out_error()})
    log_lo, log_hi = math.log(sigma_min), math.log(sigma_max)
    progress = Progress(
        "denoiser", epochs=epochs, batches=-(-len(x_all) // batch_size), first_epoch=start
    )
    for epoch in range(start, epochs):
        loss_sum, seen = 0.0, 0
        for batch, idx in enumerate(minibatches(len(x_all), batch_size, generator), 1):
            x = x_all[idx]
            sigma = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(len(x), generator=generator))
            eps = torch.randn(x.shape, generator=generator)
            loss = _scaled_error(model, x.to(device), eps.to(device), sigma.to(device)).mean()
            _check_finite(loss, "denoiser", step, _kept(resume, history))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            progress.step(epoch, batch)
        record = {
            "epoch": epoch + 1,
            "step": step,
            "loss": loss_sum / max(seen, 1),
            "heldout_error": held_out_error(),
        }
        history.append(record)
        _save(resume, epoch + 1, step, history, model, opt, None, generator)
        log.info(
            "denoiser epoch %d/%d loss %.4f held-out error at σ=%g %.4f%s",
            epoch + 1,
            epochs,
            record["loss"],
            sigma_eval,
            record["heldout_error"],
            progress.summary(),
        )
    model.eval()
    return history
