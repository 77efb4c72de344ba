"""l2 projected gradient descent (PGD) for adversarial training (docs/paper.md §6; Madry et al. 2018).

``pgd_l2`` maximises the cross-entropy within an l2 ball of radius ``eps`` around each input, in ``steps``
steps of size ``2.5 · eps / steps``: each step moves along the l2-normalised gradient and projects back
onto the ball. ``projection="per_sample"`` (default) takes every norm per example, as Madry et al. and
torchattacks do; ``projection="batch"`` reproduces the paper's notebook, where the step normalisation and
the projection use the norm of the *whole batch tensor* (so with batch 100 the per-example budget is
about eps/10). The random start is the paper's: uniform [0, 1) noise scaled to norm ``eps / 2`` (per
example or per batch). Images are not clipped to [0, 1] (as in the paper) unless ``clip`` is set.

Directed attacks (``restrict_to`` with a ``basis``): the random start and every step's gradient are
projected onto the tangent space (``P_T``) or the normal space (``I - P_T``) at each input, so every
iterate and the final perturbation lie in that space (after Zhang et al.: the adversarial risk splits
into an in-manifold and a normal-space part). Scaling onto the ball keeps a vector in its subspace, so
the ball projection needs no second restriction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PROJECTIONS = ("per_sample", "batch")
PARTS = ("tangent", "normal")


def restrict_to(v: torch.Tensor, basis: torch.Tensor, part: str) -> torch.Tensor:
    """``v`` (b, *image) projected onto the tangent space (``part="tangent"``: ``U^T U v``) or the normal
    space (``"normal"``: ``v - U^T U v``) at each sample, where the rows of ``basis`` (b, k, d) float32
    are orthonormal (rows past the rank zero: the tangent stores' convention) and d is the image's
    size; same shape as ``v``."""
    if part not in PARTS:
        raise ValueError(f"unknown subspace {part!r}; known: {PARTS}")
    flat = v.flatten(1).unsqueeze(-1)  # (b, d, 1)
    tangent = basis.transpose(1, 2) @ (basis @ flat)
    kept = tangent if part == "tangent" else flat - tangent
    return kept.reshape(v.shape)


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
    basis: torch.Tensor | None = None,
    part: str | None = None,
    iterates: list | None = None,
) -> torch.Tensor:
    """Adversarial examples ``x + delta`` with ``||delta|| <= eps`` (per example or per batch).

    With ``basis`` (b, k, d) float32 orthonormal tangent bases at ``x`` and ``part`` ("tangent" or
    "normal"), ``delta`` and every step stay in that subspace (module docstring). The model's mode is
    left as it is (the paper attacks in train mode, dropout active); parameter gradients are not
    accumulated. ``iterates``, a list, receives the random start and every step's ``delta``.
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"unknown PGD projection {projection!r}; known: {PROJECTIONS}")
    if eps <= 0 or steps < 1:
        raise ValueError(f"PGD needs eps > 0 and steps >= 1, got eps={eps}, steps={steps}")
    if (basis is None) != (part is None):
        raise ValueError("a directed attack needs both a basis and a part")

    def kept(v: torch.Tensor) -> torch.Tensor:
        return v if basis is None else restrict_to(v, basis, part)

    alpha = 2.5 * eps / steps
    noise = kept(torch.rand(x.shape, generator=generator).to(x))
    delta = noise * (eps / 2) / _norms(noise, projection).clamp_min(1e-12)
    if iterates is not None:
        iterates.append(delta.detach().clone())
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            delta.requires_grad_(True)
            loss = F.cross_entropy(model(x + delta), y)
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                grad = kept(grad)
                delta = delta + alpha * grad / _norms(grad, projection).clamp_min(1e-12)
                delta = project_l2(delta, eps, projection)
            if iterates is not None:
                iterates.append(delta.detach().clone())
    finally:
        for p in params:
            p.requires_grad_(True)
    adv = (x + delta).detach()
    return adv.clamp(0, 1) if clip else adv
