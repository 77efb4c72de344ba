"""Analytic image manifolds with known tangent spaces: an ellipse that orbits, spins, grows and stretches
(after Jin et al., "Implications of data topology for deep generative models"), with a chosen set of free
parameters, so that the manifold's dimension m is known exactly.

An image is rendered from parameters: a soft ellipse (semi-axes ``a > b``) whose centre moves on a circle
of radius ``orbit`` around the image centre (angle φ) and whose major axis points at angle θ. The family
(``PARAMETERS``) frees any subset of

- ``orbit_angle`` φ ∈ [0, 2π) (always free: the labels are its sector),
- ``spin`` θ ∈ [0, 2π) (the ellipse's orientation),
- ``scale`` s ∈ [0.75, 1.25] (both semi-axes times s),
- ``aspect`` e ∈ [0.8, 1.25] (the major semi-axis times e, the minor one divided by e),
- ``radius`` ρ ∈ [0.7, 1.0] (the orbit's radius times ρ),

and holds the others at their identity values (φ = θ = 0, s = e = ρ = 1). The default
``("orbit_angle", "spin")`` is the 2-torus T²; ``("orbit_angle",)`` a circle (m = 1);
``("orbit_angle", "spin", "scale")`` T² × interval (m = 3); all five m = 5. Intensity is a logistic
step of the elliptical radius, so the renderer is smooth and ``torch.func`` differentiates it exactly:
the tangent space at an image is the column space of the renderer's ``(d, m)`` Jacobian, with no model in
between. Images are ``(1, s, s) float32`` in [0, 1]; d = s².
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

#: free parameter → (low, high, value when fixed); angles are periodic, the others multiply a length
PARAMETERS: dict[str, tuple[float, float, float]] = {
    "orbit_angle": (0.0, 2.0 * math.pi, 0.0),
    "spin": (0.0, 2.0 * math.pi, 0.0),
    "scale": (0.75, 1.25, 1.0),
    "aspect": (0.8, 1.25, 1.0),
    "radius": (0.7, 1.0, 1.0),
}
TORUS = ("orbit_angle", "spin")  # the default: the 2-torus


def check_parameters(parameters) -> tuple[str, ...]:
    """The free parameters as a tuple in ``PARAMETERS`` order; ``ValueError`` naming an unknown one,
    a repeated one or a missing ``orbit_angle``."""
    names = tuple(parameters)
    unknown = [p for p in names if p not in PARAMETERS]
    if unknown:
        raise ValueError(f"unknown manifold parameter(s) {unknown}; known: {', '.join(PARAMETERS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"manifold parameters {list(names)} name one twice")
    if "orbit_angle" not in names:
        raise ValueError(
            "the manifold parameters must include orbit_angle (the labels are its sector)"
        )
    return tuple(p for p in PARAMETERS if p in names)


def _columns(params: torch.Tensor, parameters: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Each of the five parameters as an ``(n, 1, 1)`` tensor: a column of ``params`` when free, its
    fixed value otherwise."""
    out = {}
    for name, (_, _, fixed) in PARAMETERS.items():
        if name in parameters:
            out[name] = params[:, parameters.index(name), None, None]
        else:
            out[name] = torch.full(
                (len(params), 1, 1), fixed, dtype=params.dtype, device=params.device
            )
    return out


def render(
    params: torch.Tensor,
    size: int = 32,
    orbit: float = 0.35,
    axes: tuple[float, float] = (0.28, 0.12),
    sharpness: float = 12.0,
    parameters: tuple[str, ...] = TORUS,
) -> torch.Tensor:
    """``params (n, m)`` (the free ``parameters`` in ``PARAMETERS`` order; angles in radians) →
    ``(n, 1, size, size)`` images, differentiable in ``params``. Lengths are in units of the image
    side; ``sharpness`` sets the width of the soft edge."""
    p = _columns(params, tuple(parameters))
    phi, theta = p["orbit_angle"], p["spin"]
    major = axes[0] * p["scale"] * p["aspect"]
    minor = axes[1] * p["scale"] / p["aspect"]
    centre = orbit * p["radius"]
    grid = (torch.arange(size, dtype=params.dtype, device=params.device) + 0.5) / size - 0.5
    y, x = grid[:, None], grid[None, :]
    dx, dy = x - centre * torch.cos(phi), y - centre * torch.sin(phi)
    u = dx * torch.cos(theta) + dy * torch.sin(theta)  # along the major axis
    v = -dx * torch.sin(theta) + dy * torch.cos(theta)
    elliptical = torch.sqrt((u / major) ** 2 + (v / minor) ** 2 + 1e-12)
    return torch.sigmoid(sharpness * (1.0 - elliptical)).unsqueeze(1)


def render_jacobian(params: torch.Tensor, size: int = 32, **kwargs) -> torch.Tensor:
    """``(n, d, m)`` exact Jacobians of ``render`` at ``params (n, m)`` (forward mode, vectorised)."""

    def single(p: torch.Tensor) -> torch.Tensor:
        return render(p.unsqueeze(0), size, **kwargs).reshape(-1)

    return torch.func.vmap(torch.func.jacfwd(single))(params)


class TorusRenderer(nn.Module):
    """The renderer as a manifold model (``latent_dim`` m, ``decode``), saved like any other so that the
    tangent rule takes its exact Jacobian with the decoders' code. It has no weights and no encoder: an
    image's latents are its parameters, known from the data."""

    def __init__(
        self,
        size: int = 32,
        orbit: float = 0.35,
        axes: list[float] = (0.28, 0.12),
        sharpness: float = 12.0,
        parameters: list[str] = TORUS,
    ):
        super().__init__()
        self.size, self.orbit, self.axes, self.sharpness = size, orbit, tuple(axes), sharpness
        self.parameters_free = check_parameters(parameters)
        self.latent_dim = len(self.parameters_free)

    def constructor_kwargs(self) -> dict:
        return {
            "size": self.size,
            "orbit": self.orbit,
            "axes": list(self.axes),
            "sharpness": self.sharpness,
            "parameters": list(self.parameters_free),
        }

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (n, m)`` parameters → ``(n, 1, size, size)`` images."""
        return render(z, self.size, self.orbit, self.axes, self.sharpness, self.parameters_free)

    forward = decode


def sample_params(n: int, seed: int, parameters: tuple[str, ...] = TORUS) -> np.ndarray:
    """``(n, m) float32`` parameters drawn uniformly in their ranges (``PARAMETERS``; angles on
    [0, 2π))."""
    parameters = check_parameters(parameters)
    low = np.array([PARAMETERS[p][0] for p in parameters])
    high = np.array([PARAMETERS[p][1] for p in parameters])
    return (
        np.random.default_rng(seed).uniform(low, high, size=(n, len(parameters))).astype(np.float32)
    )


def label_params(params: np.ndarray, n_classes: int = 4) -> np.ndarray:
    """``(n,) int64`` labels from the orbit angle (column 0: ``orbit_angle`` is first in every
    family member): the quadrant (or ``n_classes`` sectors) the ellipse is in."""
    return (np.floor(params[:, 0] / (2 * math.pi) * n_classes).astype(np.int64)) % n_classes
