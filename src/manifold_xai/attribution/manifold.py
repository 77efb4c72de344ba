"""Attribution methods that use the data manifold (docs/methods.md, "Methods that follow the paper's
advice").

- **Tangent projection** (``{project: <method>}``; Anders et al., ICML 2020, "Fairwashing explanations
  with off-manifold detergent"): any method's attribution projected onto the tangent space of the
  image's manifold, ``P_T a``. Its fraction in *that* tangent space is 1 by construction; it is measured
  under the other tangent sources (local PCA, the torus's exact tangents, the VAE's), where it is not.
- **Manifold-path Integrated Gradients** (``manifold_integrated_gradients``): Integrated Gradients along
  the decoder's image of the straight latent path from a baseline latent ``z₀`` (0: the prior's mean for
  a VAE, angle 0 on the torus) to the image's latent ``z``: ``γ(α) = D(z₀ + α (z − z₀))`` and
  ``a_i = ∫₀¹ ∂f/∂x_i(γ(α)) · γ'_i(α) dα`` with ``γ'(α) = J_D(z(α)) (z − z₀)`` (a JVP). Every point of
  the path is an image of the manifold, unlike IG's straight line from a black image; completeness holds:
  ``Σ_i a_i = f(D(z)) − f(D(z₀))`` up to the quadrature error. Chosen over IG with a baseline optimised
  for alignment (Simpson et al., 2024) because it needs no inner optimisation per image, uses only the
  decoder the pipeline already has, and keeps IG's axioms along a path that stays on the manifold.

Both need a ``ManifoldContext``: the images' tangent spaces (projection) or the decoder and the images'
latents (manifold path). The method registry records which method needs what (``MethodSpec.needs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from manifold_xai.tangent.space import TangentSpace

Decode = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class ManifoldContext:
    """The manifold at ``n`` images, in the order of the images being explained.

    ``decode``: latents ``(b, l)`` → images ``(b, c, h, w)`` (a prepared decoder's ``decode``, or a
    renderer's); ``latents (n, l) float32``: each image's latent, ``decode(latents[i]) ≈ image i``;
    ``given_tangent``: a ``TangentSpace`` whose sample ``i`` is image ``i``, or ``tangent_at``, a function
    giving the tangent spaces of some images ``samples (b,)`` (sample ``j`` = image ``samples[j]``), called
    per batch, so memory holds one batch of bases whatever n (and nothing when no method projects).
    """

    decode: Decode | None = None
    latents: np.ndarray | None = None
    tangent_at: Callable[[np.ndarray], TangentSpace] | None = field(default=None, repr=False)
    given_tangent: TangentSpace | None = field(default=None, repr=False)
    _last: tuple[bytes, TangentSpace] | None = field(default=None, repr=False)

    def project(self, vectors: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """``P_T v`` of ``vectors (b, d)`` at images ``samples (b,)``, float64 (NaN where undefined). The
        last batch's tangent spaces are kept, so several projections of one batch compute them once."""
        samples = np.asarray(samples)
        if self.given_tangent is not None:
            return self.given_tangent.project(vectors, samples)
        if self.tangent_at is None:
            raise ValueError("this method needs the images' tangent spaces: none were given")
        key = samples.tobytes()
        if self._last is None or self._last[0] != key:
            self._last = (key, self.tangent_at(samples))
        return self._last[1].project(vectors, np.arange(len(samples)))

    def batch(self, start: int, stop: int, device) -> ManifoldBatch:
        return ManifoldBatch(self, np.arange(start, stop), device)


@dataclass
class ManifoldBatch:
    """The context of images ``samples`` (one batch of an attribution call)."""

    context: ManifoldContext
    samples: np.ndarray
    device: torch.device

    def project(self, attribution: torch.Tensor) -> torch.Tensor:
        """``P_T a`` of each ``attribution (b, c, h, w)`` in its image's tangent space (NaN where the
        tangent space is undefined), in the attribution's dtype and device."""
        flat = attribution.detach().cpu().numpy().reshape(len(self.samples), -1)
        tangent = self.context.project(flat, self.samples)
        return torch.from_numpy(tangent.reshape(attribution.shape)).to(attribution)

    @property
    def decode(self) -> Decode:
        if self.context.decode is None:
            raise ValueError("this method needs the manifold's decoder: none was given")
        return self.context.decode

    @property
    def latents(self) -> torch.Tensor:
        if self.context.latents is None:
            raise ValueError("this method needs the images' latents: none were given")
        return torch.from_numpy(np.asarray(self.context.latents[self.samples], np.float32)).to(
            self.device
        )


def manifold_path(
    decode: Decode, start: torch.Tensor, end: torch.Tensor, alphas: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The decoder's image of the straight latent path from ``start`` to ``end`` (each ``(b, l)``) at
    ``alphas (s,)`` in [0, 1]: ``latents (s, b, l)``, ``points (s, b, c, h, w) = decode(latents)`` and
    ``velocity (s, b, c, h, w) = J_D(latents) (end − start)``, the path's derivative in α (one JVP)."""
    s, (b, dim) = len(alphas), start.shape
    latents = start + alphas.to(start).view(s, 1, 1) * (end - start)
    direction = (end - start).expand(s, b, dim).reshape(s * b, dim)
    points, velocity = torch.func.jvp(decode, (latents.reshape(s * b, dim),), (direction,))
    return (
        latents,
        points.reshape(s, b, *points.shape[1:]),
        velocity.reshape(s, b, *points.shape[1:]),
    )


def manifold_integrated_gradients(model, x, target, params, manifold: ManifoldBatch):
    """Integrated Gradients along the decoder path from latent 0 to the image's latent (module
    docstring): ``steps`` quadrature points by ``method`` (Captum's rules, as IG), all in one pass.
    Returns ``(b, c, h, w)`` in ``x``'s dtype; ``x`` itself is not used beyond its shape (the path ends
    at ``decode(z)``, the image for a generated dataset)."""
    step_sizes, alphas = approximation_parameters(params["method"])
    steps = int(params["steps"])
    weights = torch.tensor(step_sizes(steps), dtype=x.dtype, device=x.device)
    end = manifold.latents
    with torch.no_grad():
        _, points, velocity = manifold_path(
            manifold.decode,
            torch.zeros_like(end),
            end,
            torch.tensor(alphas(steps), dtype=end.dtype, device=end.device),
        )
    s, b = points.shape[:2]
    flat = points.reshape(s * b, *points.shape[2:]).detach().requires_grad_(True)
    logits = model(flat)
    chosen = logits.gather(1, target.repeat(s).view(-1, 1)).sum()
    (grads,) = torch.autograd.grad(chosen, flat)
    terms = grads.reshape(points.shape) * velocity
    return (weights.view(s, 1, 1, 1, 1) * terms).sum(0).reshape(x.shape).to(x.dtype)
