"""l2 projected gradient descent (PGD) for adversarial training (docs/paper.md §6; Madry et al. 2018).

``pgd_l2`` maximises the cross-entropy within an l2 ball of radius ``eps`` around each input, in ``steps``
steps of size ``2.5 · eps / steps``: each step moves along the l2-normalised gradient and projects back
onto the ball. ``projection="per_sample"`` (default) takes every norm per example, as Madry et al. and
torchattacks do; ``projection="batch"`` reproduces the paper's notebook, where the step normalisation and
the projection use the norm of the *whole batch tensor* (so with batch 100 the per-example budget is
about eps/10). The random start is the paper's: uniform [0, 1) noise scaled to norm ``eps / 2`` (per
example or per batch). Images are not clipped to [0, 1] (as in the paper) unless ``clip`` is set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PROJECTIONS = ("per_sample", "batch")


def _norms(x: torch.Tensor, projection: str) -> torch.Tensor:
    """l2 norms broadcastable to ``x``: one per example, or one for the whole batch."""
    if projection == "batch":
        return x.norm().reshape(*([1] * x.ndim))
    return x.flatten(1).norm(dim=1).reshape(-1, *([1] * (x.ndim - 1)))


def project_l2(delta: torch.Tensor, eps: float, projection: str = "per_sample") -> torch.Tensor:
    """Scale ``delta`` back onto the l2 ball of radius ``eps`` where it lies outside."""
    return delta * torch.clamp(eps / _norms(delta, projection).clamp_min(1e-12), max=1.0)


def pgd_l2(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    steps: int,
    *,
    projection: str = "per_sample",
    clip: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Adversarial examples ``x + delta`` with ``||delta|| <= eps`` (per example or per batch).

    The model's mode is left as it is (the paper attacks in train mode, dropout active); parameter
    gradients are not accumulated.
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"unknown PGD projection {projection!r}; known: {PROJECTIONS}")
    if eps <= 0 or steps < 1:
        raise ValueError(f"PGD needs eps > 0 and steps >= 1, got eps={eps}, steps={steps}")
    alpha = 2.5 * eps / steps
    noise = torch.rand(x.shape, generator=generator).to(x)
    delta = noise * (eps / 2) / _norms(noise, projection).clamp_min(1e-12)
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            delta.requires_grad_(True)
            loss = F.cross_entropy(model(x + delta), y)
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                delta = delta + alpha * grad / _norms(grad, projection).clamp_min(1e-12)
                delta = project_l2(delta, eps, projection)
    finally:
        for p in params:
            p.requires_grad_(True)
    adv = (x + delta).detach()
    return adv.clamp(0, 1) if clip else adv
