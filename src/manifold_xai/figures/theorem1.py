"""Figures of the Theorem 1 stage (``workflow/rules/theorem1.smk``): ``fig8_simulation``, Figure 8."""

from __future__ import annotations

import numpy as np

from manifold_xai.figures.style import (
    plt,
    save,
)


def fig8_simulation(vertices, points, fractions, result: dict, path, *, dpi: int = 150) -> None:
    """Figure 8: left, the curve projected on (x₁, x₂) with the test points coloured by where their
    gradient lies (tangent space, orthogonal, neither); right, the histogram of the gradient's fraction
    in tangent space over the test points."""
    tol = np.radians(result["tolerance_deg"])
    inside, orthogonal = fractions >= np.cos(tol), fractions <= np.sin(tol)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.9))
    closed = np.vstack([vertices, vertices[:1]])
    left.plot(closed[:, 0], closed[:, 1], color="lightgray", lw=1, zorder=0)
    for mask, color, label in (
        (inside, "tab:blue", "gradient in tangent space"),
        (orthogonal, "tab:red", "gradient orthogonal"),
        (~inside & ~orthogonal, "tab:gray", "neither"),
    ):
        left.scatter(
            points[mask, 0],
            points[mask, 1] + 0.03 * np.random.default_rng(0).standard_normal(mask.sum()),
            s=4,
            color=color,
            label=f"{label} ({mask.mean():.2f})",
        )
    left.axvline(0, color="black", lw=0.8, ls=":")
    left.set(
        xlabel="x₁ (label = sign x₁)",
        ylabel="x₂ (jittered)",
        title=f"Closed curve in d = {result['d']}, test accuracy {result['test_accuracy']:.3f}",
    )
    left.legend(fontsize=7, frameon=True, framealpha=0.9, loc="lower right")
    right.hist(
        fractions[np.isfinite(fractions)], bins=np.linspace(0, 1, 41), color="tab:blue", alpha=0.8
    )
    right.set(
        xlabel="Fraction of the gradient in tangent space",
        ylabel="Test points",
        title=f"two-layer ReLU net, width {result['width']}",
    )
    fig.tight_layout()
    save(fig, path, dpi)
