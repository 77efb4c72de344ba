"""Burgess et al. (2018) VAE, as in YannDubs/disentangling-vae (the paper's MNIST32 manifold model).

Encoder: ``n_conv`` layers ``Conv2d(c→32, k4, s2, p1)`` + ReLU taking the image from ``size`` to 4×4,
flatten to 512, ``Linear 512→256``, ReLU, ``Linear 256→256``, ReLU, ``Linear 256→2k`` (mean, log-variance).
Decoder: the mirror image, ending in a sigmoid, so generated images lie in (0, 1).

``decode(z)`` maps ``(n, k) float32`` latents to ``(n, c, h, w) float32`` images; it is the map whose
Jacobian spans the tangent space of the image manifold (``manifold_xai.tangent.bases``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

HIDDEN_CHANNELS = 32
HIDDEN_DIM = 256


def _n_conv_layers(image_size: int) -> int:
    n = math.log2(image_size / 4)
    if image_size < 8 or n != int(n):
        raise ValueError(f"Burgess VAE needs a power-of-two image size >= 8, got {image_size}")
    return int(n)


class BurgessEncoder(nn.Module):
    """``(n, c, s, s) -> (mean (n, k), logvar (n, k))``."""

    def __init__(self, channels: int, image_size: int, latent_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = channels
        for _ in range(_n_conv_layers(image_size)):
            layers += [nn.Conv2d(in_ch, HIDDEN_CHANNELS, 4, stride=2, padding=1), nn.ReLU()]
            in_ch = HIDDEN_CHANNELS
        self.conv = nn.Sequential(*layers)
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(HIDDEN_CHANNELS * 16, HIDDEN_DIM),
            nn.ReLU(),
            nn.Linear(HIDDEN_DIM, HIDDEN_DIM),
            nn.ReLU(),
            nn.Linear(HIDDEN_DIM, 2 * latent_dim),
        )
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.mlp(self.conv(x))
        return h[:, : self.latent_dim], h[:, self.latent_dim :]


class BurgessDecoder(nn.Module):
    """``(n, k) -> logits (n, c, s, s)``; apply a sigmoid for images."""

    def __init__(self, channels: int, image_size: int, latent_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(latent_dim, HIDDEN_DIM),
            nn.ReLU(),
            nn.Linear(HIDDEN_DIM, HIDDEN_DIM),
            nn.ReLU(),
            nn.Linear(HIDDEN_DIM, HIDDEN_CHANNELS * 16),
            nn.ReLU(),
        )
        n = _n_conv_layers(image_size)
        layers: list[nn.Module] = []
        for i in range(n):
            last = i == n - 1
            layers.append(
                nn.ConvTranspose2d(HIDDEN_CHANNELS, channels if last else HIDDEN_CHANNELS, 4, 2, 1)
            )
            if not last:
                layers.append(nn.ReLU())
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mlp(z).view(-1, HIDDEN_CHANNELS, 4, 4)
        return self.deconv(h)


class BurgessVAE(nn.Module):
    """Gaussian-encoder VAE with a Bernoulli (sigmoid) decoder; ``eval()`` encodes to the mean."""

    def __init__(self, channels: int = 1, image_size: int = 32, latent_dim: int = 10):
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.encoder = BurgessEncoder(channels, image_size, latent_dim)
        self.decoder = BurgessDecoder(channels, image_size, latent_dim)

    def constructor_kwargs(self) -> dict:
        return {
            "channels": self.channels,
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
        }

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean ``(n, k)``: the latent a deterministic pipeline uses."""
        return self.encoder(x)[0]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(n, c, s, s)`` in (0, 1)."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor):
        """Returns ``(recon_logits, mean, logvar, z_sample)``; in eval mode ``z_sample = mean``."""
        mean, logvar = self.encoder(x)
        if self.training:
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        else:
            z = mean
        return self.decoder(z), mean, logvar, z
