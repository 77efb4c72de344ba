"""The reconstructive-approach autoencoder of the paper's medical datasets (docs/paper.md §1.3).

``networks.py::AutoEncoder(in=3, out=3, channel=8, n_res_block=4, n_res_channel=32, stride)``: a
deterministic autoencoder built from the VQ-VAE-2 encoder/decoder without quantisation.

- Encoder (stride 8): ``Conv(c→ch/2, k4,s2,p1)``, ReLU, ``Conv(ch/2→ch/2, k4,s2,p1)``, ReLU,
  ``Conv(ch/2→ch, k4,s2,p1)``, ReLU, ``Conv(ch→ch, k3,p1)``, ``n_res_block`` ResBlocks, ReLU.
  The latent is non-negative, shape ``(ch, H/8, W/8)``: 8×28×28 = 6272 for 224×224 retinopathy.
- Decoder: ``Conv(ch→ch, k3,p1)``, ResBlocks, ReLU, then transposed convolutions back to full size,
  with **no output activation** (reconstructions are unbounded).

``decode`` maps ``(n, k)`` flat latents to ``(n, c, H, W)`` images, so it plugs into ``manifold_xai.tangent.bases``
like the VAE decoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from manifold_xai.shapes import autoencoder_latent_shape


class ResBlock(nn.Module):
    def __init__(self, channels: int, res_channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, res_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(res_channels, channels, 1),
        )

    def forward(self, x):
        return x + self.body(x)


class ConvAutoEncoder(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        image_size: tuple[int, int] = (224, 224),
        latent_channels: int = 8,
        n_res_block: int = 4,
        n_res_channel: int = 32,
        stride: int = 8,
    ):
        super().__init__()
        n_down = int(math.log2(stride))
        if 2**n_down != stride or n_down < 1:
            raise ValueError(f"stride must be a power of two >= 2, got {stride}")
        h, w = image_size
        if h % stride or w % stride:
            raise ValueError(f"image size {image_size} is not divisible by the stride {stride}")
        self.channels, self.image_size, self.stride = channels, (h, w), stride
        self.latent_shape = self.latent_shape_for((h, w), latent_channels, stride)
        self.latent_dim = math.prod(self.latent_shape)
        self._kwargs = {
            "channels": channels,
            "image_size": [h, w],
            "latent_channels": latent_channels,
            "n_res_block": n_res_block,
            "n_res_channel": n_res_channel,
            "stride": stride,
        }
        half = latent_channels // 2
        enc: list[nn.Module] = []
        in_ch = channels
        for i in range(n_down):
            out_ch = latent_channels if i == n_down - 1 else half
            enc += [nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1), nn.ReLU()]
            in_ch = out_ch
        enc.append(nn.Conv2d(latent_channels, latent_channels, 3, padding=1))
        enc += [ResBlock(latent_channels, n_res_channel) for _ in range(n_res_block)]
        enc.append(nn.ReLU())
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(latent_channels, latent_channels, 3, padding=1)]
        dec += [ResBlock(latent_channels, n_res_channel) for _ in range(n_res_block)]
        dec.append(nn.ReLU())
        in_ch = latent_channels
        for i in range(n_down):
            last = i == n_down - 1
            dec.append(
                nn.ConvTranspose2d(in_ch, channels if last else half, 4, stride=2, padding=1)
            )
            if not last:
                dec.append(nn.ReLU())
            in_ch = half
        self.decoder = nn.Sequential(*dec)

    latent_shape_for = staticmethod(autoencoder_latent_shape)

    def constructor_kwargs(self) -> dict:
        return dict(self._kwargs)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, c, H, W)`` → flat latents ``(n, k)``."""
        return self.encoder(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat latents ``(n, k)`` → reconstructions ``(n, c, H, W)``."""
        return self.decoder(z.reshape(-1, *self.latent_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
