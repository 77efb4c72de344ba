"""A small noise-conditional convolutional denoiser: the decoder-free tangent source
(``manifold_xai.tangent.denoiser``).

``Denoiser(channels, image_size, width)`` maps a noisy image ``y (n, c, h, w) float32`` and its noise
standard deviation ``sigma`` (a float or ``(n,)``, in the images' units) to an estimate of the clean image
``D(y, σ) = y − r(y, σ)``: the network predicts the noise residual ``r`` (as DnCNN), whose Jacobian near
the data is close to the projection onto the normal space, so that the denoiser's own Jacobian is close
to the projection onto the tangent space (Kadkhodaie et al., ICLR 2024). The noise level reaches the
network as a constant input channel (FFDNet's noise-level map).

Architecture (a U-Net with three scales, so that the receptive field covers a 32×32 image): a 3×3 conv to
``width`` channels, two stride-2 downsamplings to ``2·width`` and ``4·width`` channels, a 3×3 block at the
coarsest scale, and nearest-neighbour upsamplings that add the skip connections back; SiLU activations
(smooth, so the Jacobian varies smoothly with the image). The image sides must be multiples of 4.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.SiLU())


class Denoiser(nn.Module):
    """``forward(y (n, c, h, w), sigma) -> (n, c, h, w)``: the denoised image (see the module docstring)."""

    def __init__(self, channels: int, image_size: int | list | tuple, width: int = 32):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if h % 4 or w % 4:
            raise ValueError(f"the denoiser needs image sides that are multiples of 4, got {h}×{w}")
        self.channels, self.image_size, self.width = channels, [h, w], width
        self.inp = _block(channels + 1, width)
        self.down1 = nn.Sequential(_block(width, 2 * width, 2), _block(2 * width, 2 * width))
        self.down2 = nn.Sequential(_block(2 * width, 4 * width, 2), _block(4 * width, 4 * width))
        self.mid = _block(4 * width, 4 * width)
        self.up2 = _block(4 * width, 2 * width)
        self.up1 = _block(2 * width, width)
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def constructor_kwargs(self) -> dict:
        return {"channels": self.channels, "image_size": self.image_size, "width": self.width}

    def residual(self, y: torch.Tensor, sigma) -> torch.Tensor:
        """The predicted noise ``r (n, c, h, w)``; ``D(y, σ) = y − r``."""
        sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device)
        level = sigma.reshape(-1, 1, 1, 1).expand(len(y), 1, *y.shape[-2:])
        h0 = self.inp(torch.cat([y, level], 1))
        h1 = self.down1(h0)
        h2 = self.mid(self.down2(h1))
        u1 = self.up2(F.interpolate(h2, scale_factor=2, mode="nearest")) + h1
        u0 = self.up1(F.interpolate(u1, scale_factor=2, mode="nearest")) + h0
        return self.out(u0)

    def forward(self, y: torch.Tensor, sigma) -> torch.Tensor:
        return y - self.residual(y, sigma)
