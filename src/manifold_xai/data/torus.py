"""An analytic image manifold with known tangent spaces: a spinning, orbiting ellipse (after Jin et al.,
"Implications of data topology for deep generative models").

An image is rendered from parameters ``p = (orbit angle φ, spin angle θ)`` on the torus T²: a soft
ellipse (semi-axes ``a > b``) whose centre moves on a circle of radius ``orbit`` around the image centre
(angle φ) and whose major axis points at angle θ. Intensity is a logistic step of the elliptical radius,
so the renderer is smooth and ``torch.func`` differentiates it exactly: the tangent space at an image is
the column space of the renderer's ``(d, 2)`` Jacobian, with no model in between. Images are
``(1, s, s) float32`` in [0, 1]; d = s².
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from manifold_xai.shapes import TORUS_PARAMS

N_PARAMS = TORUS_PARAMS  # (φ, θ): the manifold is a 2-torus


def render(
    params: torch.Tensor,
    size: int = 32,
    orbit: float = 0.35,
    axes: tuple[float, float] = (0.28, 0.12),
    sharpness: float = 12.0,
) -> torch.Tensor:
    """``params (n, 2)`` angles (radians) → ``(n, 1, size, size)`` images, differentiable in ``params``.
    Lengths are in units of the image side; ``sharpness`` sets the width of the soft edge."""
    phi, theta = params[:, 0, None, None], params[:, 1, None, None]
    grid = (torch.arange(size, dtype=params.dtype, device=params.device) + 0.5) / size - 0.5
    y, x = grid[:, None], grid[None, :]
    dx, dy = x - orbit * torch.cos(phi), y - orbit * torch.sin(phi)
    u = dx * torch.cos(theta) + dy * torch.sin(theta)  # along the major axis
    v = -dx * torch.sin(theta) + dy * torch.cos(theta)
    radius = torch.sqrt((u / axes[0]) ** 2 + (v / axes[1]) ** 2 + 1e-12)
    return torch.sigmoid(sharpness * (1.0 - radius)).unsqueeze(1)


def render_jacobian(params: torch.Tensor, size: int = 32, **kwargs) -> torch.Tensor:
    """``(n, d, 2)`` exact Jacobians of ``render`` at ``params (n, 2)`` (forward mode, vectorised)."""

    def single(p: torch.Tensor) -> torch.Tensor:
        return render(p.unsqueeze(0), size, **kwargs).reshape(-1)

    return torch.func.vmap(torch.func.jacfwd(single))(params)


class TorusRenderer(nn.Module):
    """The renderer as a manifold model (``latent_dim`` 2, ``decode``), saved like any other so that the
    tangent rule takes its exact Jacobian with the decoders' code. It has no weights and no encoder: an
    image's latents are its angles, known from the data."""

    latent_dim = N_PARAMS

    def __init__(
        self,
        size: int = 32,
        orbit: float = 0.35,
        axes: list[float] = (0.28, 0.12),
        sharpness: float = 12.0,
    ):
        super().__init__()
        self.size, self.orbit, self.axes, self.sharpness = size, orbit, tuple(axes), sharpness

    def constructor_kwargs(self) -> dict:
        return {
            "size": self.size,
            "orbit": self.orbit,
            "axes": list(self.axes),
            "sharpness": self.sharpness,
        }

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (n, 2)`` angles → ``(n, 1, size, size)`` images."""
        return render(z, self.size, self.orbit, self.axes, self.sharpness)

    forward = decode


def sample_params(n: int, seed: int) -> np.ndarray:
    """``(n, 2) float32`` angles uniform on the torus [0, 2π)²."""
    return (
        np.random.default_rng(seed)
        .uniform(0.0, 2.0 * math.pi, size=(n, N_PARAMS))
        .astype(np.float32)
    )


def label_params(params: np.ndarray, n_classes: int = 4) -> np.ndarray:
    """``(n,) int64`` labels from the orbit angle: the quadrant (or ``n_classes`` sectors) the ellipse is in."""
    return (np.floor(params[:, 0] / (2 * math.pi) * n_classes).astype(np.int64)) % n_classes
