"""The generative approach (docs/paper.md §1.1, Algorithm 1): sample a dataset from the VAE prior and label it.

A latent ``z ~ N(0, I_k)`` is decoded to ``x = D(z)``; the labelling function gives class probabilities
``p``; the sample is accepted with probability ``max(p) ** power`` (the paper: power 2) and labelled
``argmax(p)``. Samples are drawn in batches; the RNG is a CPU ``torch.Generator`` so the same seed gives
the same dataset on CPU and GPU (up to the decoder's floating-point differences).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Samples:
    latents: np.ndarray  # (n, k) float32
    images: np.ndarray  # (n, c, h, w) float32
    labels: np.ndarray  # (n,) int64
    p_max: np.ndarray  # (n,) float32, labeller confidence
    n_proposed: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.labels) / max(1, self.n_proposed)


@torch.no_grad()
def rejection_sample(
    decode: Callable[[torch.Tensor], torch.Tensor],
    labeller: torch.nn.Module,
    n: int,
    latent_dim: int,
    power: float,
    generator: torch.Generator,
    device: torch.device,
    batch_size: int = 512,
    max_proposals: int | None = None,
) -> Samples:
    """Draw ``n`` accepted samples; stops with an error after ``max_proposals`` (default 1000·n)."""
    labeller.eval()
    max_proposals = max_proposals or 1000 * max(n, 1)
    parts: dict[str, list] = {"z": [], "x": [], "y": [], "p": []}
    accepted = proposed = 0
    while accepted < n:
        if proposed >= max_proposals:
            raise RuntimeError(
                f"rejection sampling accepted only {accepted} of {n} samples after {proposed} proposals"
            )
        z = torch.randn(batch_size, latent_dim, generator=generator)
        u = torch.rand(batch_size, generator=generator)
        x = decode(z.to(device))
        probs = torch.softmax(labeller(x), dim=1).cpu()
        p_max, label = probs.max(dim=1)
        keep = u < p_max.double().pow(power).float()
        take = keep.nonzero().flatten()[: n - accepted]
        if len(take) and accepted + len(take) == n:
            proposed += int(take[-1]) + 1  # proposals after the last one needed were never used
        else:
            proposed += batch_size
        parts["z"].append(z[take])
        parts["x"].append(x.cpu()[take])
        parts["y"].append(label[take])
        parts["p"].append(p_max[take])
        accepted += len(take)
    return Samples(
        latents=torch.cat(parts["z"]).numpy().astype(np.float32),
        images=torch.cat(parts["x"]).numpy().astype(np.float32),
        labels=torch.cat(parts["y"]).numpy().astype(np.int64),
        p_max=torch.cat(parts["p"]).numpy().astype(np.float32),
        n_proposed=proposed,
    )
