"""Classifiers and labelling functions, built by name (``build_classifier``).

- ``lenet``: the PyTorch MNIST example network the paper calls LeNet (PAPER.md §3):
  ``Conv(c→32,k3)``, ReLU, ``Conv(32→64,k3)``, ReLU, ``MaxPool2``, ``Dropout(.25)``,
  ``FC 64·((s-4)/2)²→128``, ReLU, ``Dropout(.5)``, ``FC 128→n_classes`` (12544→128 at 32×32).
  ``dropout=False`` gives the paper's random-label variant without dropout.
- ``simplenet``: SimpleNetV1 (Hasanpour et al.), the paper's MNIST32 labelling function (PAPER.md §1.1):
  13 conv+BN(momentum 0.05)+ReLU layers, ``Dropout2d(0.1)`` after each pool, global max pool,
  ``Linear(256→n_classes)``; Xavier-uniform init with ReLU gain. ``width`` scales every channel count
  (1.0 is the paper's network).

All take ``(n, c, s, s) float32`` images in [0, 1] and return ``(n, n_classes)`` logits.
"""

from __future__ import annotations

import torch
from torch import nn


class LeNet(nn.Module):
    def __init__(
        self, channels: int = 1, image_size: int = 32, n_classes: int = 10, dropout: bool = True
    ):
        super().__init__()
        if image_size < 6:
            raise ValueError(f"lenet needs images of at least 6 pixels, got {image_size}")
        self.n_classes = n_classes
        side = (image_size - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25 if dropout else 0.0),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * side * side, 128),
            nn.ReLU(),
            nn.Dropout(0.5 if dropout else 0.0),
            nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# (out_channels, kernel) per conv layer; "pool" marks max-pool + Dropout2d(0.1).
SIMPLENET_LAYOUT: list = [
    (64, 3), (128, 3), (128, 3), (128, 3), "pool",
    (128, 3), (128, 3), (256, 3), "pool",
    (256, 3), (256, 3), "pool",
    (512, 3), "pool",
    (2048, 1), (256, 1), "pool",
    (256, 3),
]  # fmt: skip


class SimpleNet(nn.Module):
    def __init__(
        self, channels: int = 1, image_size: int = 32, n_classes: int = 10, width: float = 1.0
    ):
        super().__init__()
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        in_ch, side = channels, image_size
        for item in SIMPLENET_LAYOUT:
            if item == "pool":
                if side >= 2:
                    layers.append(nn.MaxPool2d(2))
                    side //= 2
                layers.append(nn.Dropout2d(0.1))
                continue
            out_ch, k = item
            out_ch = max(8, int(round(out_ch * width)))
            layers += [
                nn.Conv2d(in_ch, out_ch, k, padding=k // 2),
                nn.BatchNorm2d(out_ch, momentum=0.05),
                nn.ReLU(),
            ]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(in_ch, n_classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


ARCHITECTURES = {"lenet": LeNet, "simplenet": SimpleNet}


def build_classifier(arch: str, **kwargs) -> nn.Module:
    """Instantiate a classifier by name; ``kwargs`` are its constructor arguments."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown classifier architecture {arch!r}; known: {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch](**kwargs)
