"""Training loops: the β-TCVAE manifold model and classifiers in three regimes.

- ``standard``: Adam with step decay (the paper's LeNet).
- ``adversarial``: l2-PGD adversarial training (``manifold_xai.training.adversarial``), SGD with milestones as in
  the paper's notebook, eps drawn per step from a configured set.
- ``random_labels``: labels permuted once per seed, no dropout, trained until it fits the training set.

The checkpoint schedule is ``manifold_xai.training.tracking``; inference with the trained models
``manifold_xai.training.inference``.

Every loop draws its minibatch order from an explicit ``torch.Generator`` so the same seed gives the
same model on CPU. Images are ``(n, c, h, w) float32`` in [0, 1]; labels ``(n,) int64``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from manifold_xai.models.losses import btcvae_loss
from manifold_xai.training.progress import Progress
from manifold_xai.training.resume import TrainingState
from manifold_xai.training.tracking import steps_per_epoch

log = logging.getLogger(__name__)

OnStep = Callable[[int, int, nn.Module], None]


def minibatches(
    n: int, batch_size: int, generator: torch.Generator, shuffle: bool = True
) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _check_finite(loss: torch.Tensor, what: str, step: int, kept=None) -> None:
    """Stop on a NaN or inf loss; ``kept``: where the last good training state stays."""
    if not torch.isfinite(loss):
        where = (
            f"; the last good state (end of the previous epoch) is kept in {kept}" if kept else ""
        )
        raise FloatingPointError(
            f"{what}: non-finite loss {loss.item()} at step {step}; lower the learning rate{where}"
        )


def train_btcvae(
    model: nn.Module,
    images: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    alpha: float,
    beta: float,
    gamma: float,
    reg_anneal_steps: int,
    generator: torch.Generator,
    device: torch.device,
    resume: TrainingState | None = None,
) -> list[dict]:
    """Train a VAE with the β-TCVAE objective (Adam). Returns one record per epoch (mean loss terms).
    ``resume``: save the state every epoch and continue from a saved one (as ``_fit``)."""
    x_all = torch.from_numpy(images)
    n = len(x_all)
    if n < 2:
        raise ValueError("β-TCVAE training needs at least 2 images")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.to(device).train()
    history, step, start = _resume(resume, model, opt, None, generator)
    for epoch in range(start, epochs):
        sums: dict[str, float] = {}
        batches = 0
        for idx in minibatches(n, batch_size, generator):
            if len(idx) < 2:
                continue
            x = x_all[idx].to(device)
            recon, mean, logvar, z = model(x)
            anneal = min(1.0, step / reg_anneal_steps) if reg_anneal_steps > 0 else 1.0
            loss, parts = btcvae_loss(recon, x, mean, logvar, z, n, alpha, beta, gamma, anneal)
            _check_finite(loss, "β-TCVAE", step, _kept(resume, history))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            batches += 1
            for key, value in {"loss": loss.item(), **parts}.items():
                sums[key] = sums.get(key, 0.0) + value
        record = {
            "epoch": epoch + 1,
            "step": step,
            **{k: v / max(batches, 1) for k, v in sums.items()},
        }
        history.append(record)
        _save(resume, epoch + 1, step, history, model, opt, None, generator)
        if epoch == 0 or (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs:
            log.info(
                "vae epoch %d/%d %s", epoch + 1, epochs, {k: round(v, 3) for k, v in record.items()}
            )
    model.eval()
    return history


def _resume(resume, model, opt, sched, generator) -> tuple[list[dict], int, int]:
    """``(history, step, first epoch)``: a saved state put back into the loop's objects, or a fresh start."""
    state = resume.load() if resume is not None else None
    if state is None:
        return [], 0, 0
    TrainingState.restore(state, model=model, optimizer=opt, scheduler=sched, generator=generator)
    model.train()
    return list(state["history"]), state["step"], state["epoch"]


def _save(resume, epoch, step, history, model, opt, sched, generator) -> None:
    if resume is not None:
        resume.save(
            epoch=epoch,
            step=step,
            history=history,
            model=model,
            optimizer=opt,
            scheduler=sched,
            generator=generator,
        )


def _kept(resume, history):
    """Where the last good state is, once an epoch has been saved."""
    return resume.path if resume is not None and history else None


def _fit(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    name: str,
    accuracy_key: str = "train_accuracy",
    perturb: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    target_train_accuracy: float | None = None,
    on_step: OnStep | None = None,
    resume: TrainingState | None = None,
) -> list[dict]:
    """The shared cross-entropy loop: minibatches in seeded order, optional ``perturb(x, y, idx)`` of each
    batch (adversarial training; ``idx`` the batch's rows of ``images``), one scheduler step per epoch, one history record per epoch.
    ``on_step(step, epoch, model)`` is called before the first update (step 0) and after every update
    (training curves save checkpoints from it); it must not change the model. With ``resume``, the loop
    saves its whole state at the end of every epoch and, when a saved state exists, continues from it
    (same minibatch order, dropout masks and attacks as an uninterrupted run)."""
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    model.to(device).train()
    history, step, start = _resume(resume, model, opt, sched, generator)
    if start == 0 and on_step is not None:
        on_step(0, 0, model)
    if (
        start
        and target_train_accuracy is not None
        and history[-1][accuracy_key] >= target_train_accuracy
    ):
        start = epochs  # it had already stopped early
    progress = Progress(
        name, epochs=epochs, batches=steps_per_epoch(len(x_all), batch_size), first_epoch=start
    )
    for epoch in range(start, epochs):
        total, correct, loss_sum = 0, 0, 0.0
        for batch, idx in enumerate(minibatches(len(x_all), batch_size, generator), 1):
            x, y = x_all[idx].to(device), y_all[idx].to(device)
            if perturb is not None:
                x = perturb(x, y, idx)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            _check_finite(loss, name, step, _kept(resume, history))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if on_step is not None:
                on_step(step, epoch + 1, model)
            total += len(y)
            correct += (logits.argmax(1) == y).sum().item()
            loss_sum += loss.item() * len(y)
            progress.step(epoch, batch)
        sched.step()
        record = {
            "epoch": epoch + 1,
            "step": step,
            "loss": loss_sum / total,
            accuracy_key: correct / total,
        }
        history.append(record)
        log.info(
            "%s epoch %d/%d loss %.4f %s %.4f%s",
            name,
            epoch + 1,
            epochs,
            record["loss"],
            accuracy_key,
            record[accuracy_key],
            progress.summary(),
        )
        _save(resume, epoch + 1, step, history, model, opt, sched, generator)
        if target_train_accuracy is not None and record[accuracy_key] >= target_train_accuracy:
            break
    model.eval()
    return history


def train_classifier(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    lr_step_epochs: int,
    lr_gamma: float,
    generator: torch.Generator,
    device: torch.device,
    lr_schedule: str = "step",
    target_train_accuracy: float | None = None,
    on_step: OnStep | None = None,
    resume: TrainingState | None = None,
) -> list[dict]:
    """Cross-entropy training with Adam and, per epoch, a step decay (``lr_schedule="step"``: ×``lr_gamma``
    every ``lr_step_epochs``) or cosine annealing to 0 over ``epochs`` (``"cosine"``, the paper's CIFAR10,
    EMNIST and medical classifiers); stops early once an epoch's training accuracy reaches
    ``target_train_accuracy`` (random labels)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = lr_scheduler(opt, lr_schedule, epochs, lr_step_epochs, lr_gamma)
    return _fit(
        model,
        images,
        labels,
        opt,
        sched,
        epochs=epochs,
        batch_size=batch_size,
        generator=generator,
        device=device,
        name="classifier",
        target_train_accuracy=target_train_accuracy,
        on_step=on_step,
        resume=resume,
    )


def lr_scheduler(
    opt: torch.optim.Optimizer, kind: str, epochs: int, step_epochs: int = 10, gamma: float = 0.1
) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-epoch learning-rate schedule: ``step`` (×gamma every ``step_epochs``) or ``cosine``
    (annealed to 0 over ``epochs``)."""
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, step_epochs), gamma=gamma)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    raise ValueError(f"unknown lr_schedule {kind!r}; known: step, cosine")


def train_autoencoder(
    model: nn.Module,
    images: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    lr_schedule: str,
    generator: torch.Generator,
    device: torch.device,
    resume: TrainingState | None = None,
) -> list[dict]:
    """Train a deterministic autoencoder with the mean L1 reconstruction loss and Adam (docs/paper.md §1.3:
    lr 1e-4; the paper's text anneals it with a cosine schedule, its code keeps it constant). Returns
    one record per epoch (mean L1)."""
    x_all = torch.from_numpy(images)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = lr_scheduler(opt, lr_schedule, epochs) if lr_schedule != "constant" else None
    model.to(device).train()
    history, step, start = _resume(resume, model, opt, sched, generator)
    for epoch in range(start, epochs):
        loss_sum, seen = 0.0, 0
        for idx in minibatches(len(x_all), batch_size, generator):
            x = x_all[idx].to(device)
            loss = F.l1_loss(model(x), x)
            _check_finite(loss, "autoencoder", step, _kept(resume, history))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        if sched is not None:
            sched.step()
        history.append({"epoch": epoch + 1, "step": step, "l1": loss_sum / max(seen, 1)})
        _save(resume, epoch + 1, step, history, model, opt, sched, generator)
        if epoch == 0 or (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs:
            log.info("autoencoder epoch %d/%d l1 %.4f", epoch + 1, epochs, history[-1]["l1"])
    model.eval()
    return history


def random_label_set(
    images: np.ndarray, labels: np.ndarray, n_train: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The random-labels regime's training set: the first ``n_train`` training samples (all when
    ``None``) with their labels permuted once by ``seed``."""
    images, labels = images[:n_train], labels[:n_train]
    return images, permuted_labels(labels, seed)


def permuted_labels(labels: np.ndarray, seed: int) -> np.ndarray:
    """The random-labels regime's labels: one fixed permutation of the training labels per seed."""
    return labels[np.random.default_rng(seed).permutation(len(labels))]


def train_adversarial(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    milestones: list[int],
    lr_gamma: float,
    epsilons: list[float],
    steps: int,
    projection: str,
    generator: torch.Generator,
    device: torch.device,
    on_step: OnStep | None = None,
    resume: TrainingState | None = None,
    bases: torch.Tensor | None = None,
    part: str | None = None,
) -> list[dict]:
    """l2-PGD adversarial training: each step draws eps from ``epsilons``, attacks the batch with
    ``steps`` PGD iterations (in train mode, as the paper) and takes an SGD step on the adversarial batch.
    With ``bases`` ((n, k, d) float32, the training images' orthonormal tangent bases, rows as
    ``images``) and ``part``, the attack is directed: confined to the tangent or the normal space of each
    image (``manifold_xai.training.adversarial.restrict_to``)."""
    from manifold_xai.training.adversarial import pgd_l2

    def attack(x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        eps = float(epsilons[int(torch.randint(len(epsilons), (1,), generator=generator))])
        basis = None if bases is None else bases[idx].to(x.device)
        return pgd_l2(
            model,
            x,
            y,
            eps,
            steps,
            projection=projection,
            generator=generator,
            basis=basis,
            part=part,
        )

    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(milestones), gamma=lr_gamma)
    return _fit(
        model,
        images,
        labels,
        opt,
        sched,
        epochs=epochs,
        batch_size=batch_size,
        generator=generator,
        device=device,
        name="adversarial classifier" if part is None else f"{part}-only adversarial classifier",
        accuracy_key="adversarial_train_accuracy",
        perturb=attack,
        on_step=on_step,
        resume=resume,
    )
