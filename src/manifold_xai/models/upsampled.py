"""A decoder followed by bilinear upsampling: the paper's MNIST256 manifold (docs/paper.md §1.2).

``decode(z) = F.interpolate(base.decode(z), size=(s, s), mode="bilinear", align_corners=False)``, as the
paper's ``InterpolatedDecoder``. The manifold, its latents and labels are the base dataset's; only the
ambient dimension grows (d = c·s²). Upsampling is linear, so the tangent space is the upsampled base
tangent space; its numerical rank can drop (the paper measured 8, sometimes 7, of 10 at 256 px).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from manifold_xai.models.catalog import build_base


def upsample(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """``(n, c, h, w)`` → ``(n, c, image_size, image_size)``, bilinear without antialiasing (upsampling)."""
    return F.interpolate(
        images, size=(image_size, image_size), mode="bilinear", align_corners=False
    )


class UpsampledDecoder(nn.Module):
    def __init__(self, base_class: str, base_kwargs: dict, image_size: int):
        super().__init__()
        self.base = build_base(base_class, base_kwargs)
        self.image_size = image_size
        self.latent_dim = self.base.latent_dim
        self._kwargs = {
            "base_class": base_class,
            "base_kwargs": dict(base_kwargs),
            "image_size": image_size,
        }

    def constructor_kwargs(self) -> dict:
        return dict(self._kwargs)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(n, k)`` latents → ``(n, c, s, s)`` upsampled decoder images."""
        return upsample(self.base.decode(z), self.image_size)
