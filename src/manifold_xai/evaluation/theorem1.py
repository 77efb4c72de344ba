"""Theorem 1 of the paper (Appendix C; docs/paper.md §11): 100% test accuracy does not align gradients with
the data manifold. The construction, simulated with a finite network:

- The manifold is a closed polygonal curve in R^d (``curve_vertices``) that walks along the edges of
  the shifted unit hypercube, alternating between the first coordinate and the others: unit steps
  ±e₁ and +e_j, j = 2, 3, …, until every other coordinate (d odd) or all but the last (d even) is 1;
  then closing segments back to the start as in the paper: for even d via (√(d−1)/2, 1, …, 1, 0),
  (√(d−1)/2, 1, …, 1, 1), (−1/2, 1, …, 1, 1); for odd d via (−1/2, 2/3, …), (−1/2 + √(d−1)/2, 2/3, …),
  (−1/2 + √(d−1)/2, 1/3, …), (−1/2, 1/3, …). Exactly half of its length runs along e₁ and half
  orthogonal to it. (The paper's t_max = 4(d−2) | 4(d−1) counts twice the unit steps its formula for
  f(t) can take: with ⌊t/2⌋ ones, the walk reaches its stated end point at t = 2(d−2) | 2(d−1).)
  The corners are a null set; the paper smooths them, here a point's tangent is its segment's direction.
- Data are uniform in arc length on the curve without the slab |x₁| < ε, labels sign(x₁)
  (``sample_curve``).
- A two-layer ReLU network ``f(x) = Σ_i w_i relu(⟨a_i, x⟩ + b_i)`` is trained with the logistic loss
  until every training point is classified correctly, then longer (towards the max-margin regime of
  the theorem, whose limit gradient is ∝ e₁ everywhere).
- ``gradient_fractions``: the fraction of ∇ₓf in the (one-dimensional) tangent space, |⟨g, t⟩| / ‖g‖.
  A gradient lies in the tangent space when its angle to the tangent line is at most ``tolerance_deg``,
  and is orthogonal to it when that angle is at least 90° − ``tolerance_deg``; the theorem says both
  shares exceed 0.49 in the limit.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def curve_vertices(d: int) -> np.ndarray:
    """``(m, d) float64`` corners of the closed curve (the last connects back to the first)."""
    if d < 2:
        raise ValueError(f"the curve needs d >= 2 dimensions, got {d}")
    raised = d - 1 if d % 2 else d - 2  # other coordinates set to 1 by the walk
    vertices, point = [], np.zeros(d)
    point[0] = -0.5
    vertices.append(point.copy())
    for j in range(raised):  # per raised coordinate: a step along ±e1, then one along e_{j+2}
        point[0] = 0.5 if j % 2 == 0 else -0.5
        vertices.append(point.copy())
        point[1 + j] = 1.0
        vertices.append(point.copy())
    assert point[0] == -0.5
    r = math.sqrt(d - 1)
    if d % 2 == 0:
        corners = [(r / 2, 0.0), (r / 2, 1.0), (-0.5, 1.0)]
        for x1, last in corners:
            p = point.copy()
            p[0], p[-1] = x1, last
            vertices.append(p)
    else:
        for x1, level in [
            (-0.5, 2 / 3),
            (-0.5 + r / 2, 2 / 3),
            (-0.5 + r / 2, 1 / 3),
            (-0.5, 1 / 3),
        ]:
            p = np.full(d, level)
            p[0] = x1
            vertices.append(p)
    return np.stack(vertices)


def sample_curve(d: int, n: int, *, epsilon: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform in arc length on the curve outside |x₁| < ε: ``(points (n, d), tangents (n, d))``
    with unit tangents (each point's segment direction)."""
    start = curve_vertices(d)
    end = np.roll(start, -1, axis=0)
    lengths = np.linalg.norm(end - start, axis=1)
    rng = np.random.default_rng(seed)
    points, tangents = [], []
    while sum(len(p) for p in points) < n:
        s = rng.random(2 * n) * lengths.sum()
        seg = np.searchsorted(np.cumsum(lengths), s, side="right")
        frac = (s - np.concatenate([[0], np.cumsum(lengths)[:-1]])[seg]) / lengths[seg]
        x = start[seg] + frac[:, None] * (end[seg] - start[seg])
        keep = np.abs(x[:, 0]) >= epsilon
        points.append(x[keep])
        tangents.append(((end[seg] - start[seg]) / lengths[seg, None])[keep])
    return np.concatenate(points)[:n], np.concatenate(tangents)[:n]


class TwoLayerReLU(nn.Module):
    """``f(x) = Σ_i w_i relu(⟨a_i, x⟩ + b_i) / width`` (mean-field scaling, as the theorem's measure)."""

    def __init__(self, d: int, width: int):
        super().__init__()
        self.hidden = nn.Linear(d, width)
        self.out = nn.Linear(width, 1, bias=False)
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x))).squeeze(-1) / self.width


def train_two_layer(
    x: np.ndarray, y: np.ndarray, *, width: int, epochs: int, lr: float, seed: int
) -> tuple[TwoLayerReLU, list[dict]]:
    """Full-batch Adam on the logistic loss of ``y ∈ {−1, +1}`` for ``epochs`` steps; returns the model and
    the training accuracy and margin every 10% of training."""
    torch.manual_seed(seed)
    model = TwoLayerReLU(x.shape[1], width).double()
    xt, yt = torch.from_numpy(x).double(), torch.from_numpy(y).double()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for step in range(1, epochs + 1):
        opt.zero_grad()
        margin = yt * model(xt)
        loss = nn.functional.softplus(-margin).mean()
        loss.backward()
        opt.step()
        if step % max(1, epochs // 10) == 0 or step == epochs:
            history.append(
                {
                    "step": step,
                    "loss": float(loss.detach()),
                    "train_accuracy": float((margin > 0).double().mean()),
                    "min_margin": float(margin.detach().min()),
                }
            )
    return model.eval(), history


def gradient_fractions(model: nn.Module, points: np.ndarray, tangents: np.ndarray) -> np.ndarray:
    """``(n,) float64`` |⟨∇ₓf, t⟩| / ‖∇ₓf‖ at each point (NaN where the gradient is zero)."""
    x = torch.from_numpy(points).double().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    g = grad.detach().numpy()
    norm = np.linalg.norm(g, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, np.abs((g * tangents).sum(1)) / norm, np.nan)


def tangent_shares(fractions: np.ndarray, tolerance_deg: float) -> tuple[float, float]:
    """Shares of test points whose gradient is within ``tolerance_deg`` of the tangent line (fraction
    ``>= cos(tol)``) and of orthogonal to it (fraction ``<= sin(tol)``)."""
    tol = math.radians(tolerance_deg)
    return float(np.mean(fractions >= math.cos(tol))), float(np.mean(fractions <= math.sin(tol)))


def simulate(
    *,
    d: int,
    n_train: int,
    n_test: int,
    epsilon: float,
    width: int,
    epochs: int,
    lr: float,
    seed: int,
    tolerance_deg: float,
) -> dict:
    """Run the simulation; returns the ``theorem1.json`` record plus the test arrays (``test_points``,
    ``test_tangents``, ``fractions``) for Figure 8."""
    x_train, _ = sample_curve(d, n_train, epsilon=epsilon, seed=seed)
    x_test, t_test = sample_curve(d, n_test, epsilon=epsilon, seed=seed + 1)
    y_train, y_test = np.sign(x_train[:, 0]), np.sign(x_test[:, 0])
    model, history = train_two_layer(x_train, y_train, width=width, epochs=epochs, lr=lr, seed=seed)
    with torch.no_grad():
        test_accuracy = float(
            (np.sign(model(torch.from_numpy(x_test).double()).numpy()) == y_test).mean()
        )
    fractions = gradient_fractions(model, x_test, t_test)
    p_in, p_orthogonal = tangent_shares(fractions, tolerance_deg)
    return {
        "p_grad_in_tangent": p_in,
        "p_grad_orthogonal": p_orthogonal,
        "test_accuracy": test_accuracy,
        "train_accuracy": history[-1]["train_accuracy"],
        "d": d,
        "n_test": n_test,
        "n_train": n_train,
        "epsilon": epsilon,
        "width": width,
        "epochs": epochs,
        "tolerance_deg": tolerance_deg,
        "share_of_curve_along_e1": _share_along_e1(d),
        "mean_fraction": float(np.nanmean(fractions)),
        "history": history,
        "test_points": x_test,
        "test_tangents": t_test,
        "fractions": fractions,
    }


def _share_along_e1(d: int) -> float:
    v = curve_vertices(d)
    steps = np.roll(v, -1, axis=0) - v
    lengths = np.linalg.norm(steps, axis=1)
    along = np.abs(steps[:, 0]) == lengths
    return float(lengths[along].sum() / lengths.sum())
