"""Classifiers and labelling functions, built by name (``build_classifier``).

- ``lenet``: the PyTorch MNIST example network the paper calls LeNet (docs/paper.md §3):
  ``Conv(c→32,k3)``, ReLU, ``Conv(32→64,k3)``, ReLU, ``MaxPool2``, ``Dropout(.25)``,
  ``FC 64·((s-4)/2)²→128``, ReLU, ``Dropout(.5)``, ``FC 128→n_classes`` (12544→128 at 32×32).
  ``dropout=False`` gives the paper's random-label variant without dropout.
- ``simplenet``: SimpleNetV1 (Hasanpour et al.), the paper's MNIST32 labelling function (docs/paper.md §1.1):
  13 conv+BN(momentum 0.05)+ReLU layers, ``Dropout2d(0.1)`` after each pool, global max pool,
  ``Linear(256→n_classes)``; Xavier-uniform init with ReLU gain. ``width`` scales every channel count
  (1.0 is the paper's network).
- ``vgg16``: the CIFAR-style VGG16-BN of the paper's ``vgg.py`` (PyTorch_CIFAR10): torchvision's VGG "D"
  feature stack with batch norm, ``AdaptiveAvgPool2d(1)``, ``FC 512→4096→4096→n_classes`` with dropout,
  Kaiming init. ``width`` scales every channel count (1.0 is the paper's network).
- ``resnet18``: torchvision's ResNet18 with ``conv1`` taking ``channels`` inputs and ``fc → n_classes``
  (the paper's MNIST256 and medical classifiers). ImageNet weights are loaded by ``load_pretrained``,
  never at construction, so a saved model rebuilds offline.

All take ``(n, c, s, s) float32`` images in [0, 1] and return ``(n, n_classes)`` logits.
"""

from __future__ import annotations

import torch
from torch import nn

from manifold_xai.shapes import MIN_IMAGE_SIZE


class LeNet(nn.Module):
    min_image_size = MIN_IMAGE_SIZE["lenet"]

    def __init__(
        self, channels: int = 1, image_size: int = 32, n_classes: int = 10, dropout: bool = True
    ):
        super().__init__()
        if image_size < self.min_image_size:
            raise ValueError(
                f"lenet needs images of at least {self.min_image_size} pixels, got {image_size}"
            )
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
    (64, 3),
    (128, 3),
    (128, 3),
    (128, 3),
    "pool",
    (128, 3),
    (128, 3),
    (256, 3),
    "pool",
    (256, 3),
    (256, 3),
    "pool",
    (512, 3),
    "pool",
    (2048, 1),
    (256, 1),
    "pool",
    (256, 3),
]


class SimpleNet(nn.Module):
    min_image_size = MIN_IMAGE_SIZE["simplenet"]

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


class VGG16(nn.Module):
    min_image_size = MIN_IMAGE_SIZE["vgg16"]

    def __init__(
        self, channels: int = 3, image_size: int = 32, n_classes: int = 10, width: float = 1.0
    ):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        if image_size < self.min_image_size:
            raise ValueError(
                f"vgg16 pools five times and needs images of at least {self.min_image_size} "
                f"pixels, got {image_size}"
            )
        self.n_classes = n_classes
        layout = [v if v == "M" else max(8, int(round(v * width))) for v in cfgs["D"]]
        # torchvision's make_layers builds the 3-channel stack; swap the first conv for `channels` inputs.
        self.features = make_layers(layout, batch_norm=True)
        first = self.features[0]
        self.features[0] = nn.Conv2d(channels, first.out_channels, 3, padding=1)
        hidden = max(8, int(round(4096 * width)))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(layout[-2], hidden),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(hidden, n_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.ReLU):
                m.inplace = False  # Captum and torch.func need out-of-place activations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ResNet18(nn.Module):
    """torchvision's ResNet18 for ``channels``-channel images and ``n_classes`` outputs."""

    min_image_size = MIN_IMAGE_SIZE["resnet18"]

    def __init__(self, channels: int = 3, image_size: int = 224, n_classes: int = 2):
        super().__init__()
        from torchvision.models import resnet18

        if image_size < self.min_image_size:
            raise ValueError(
                f"resnet18 downsamples 32-fold and needs images of at least {self.min_image_size} "
                f"pixels, got {image_size}"
            )
        self.n_classes, self.channels = n_classes, channels
        self.net = resnet18(weights=None, num_classes=n_classes)
        if channels != 3:
            self.net.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
        for m in self.net.modules():
            if isinstance(m, nn.ReLU):
                m.inplace = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCHITECTURES = {"lenet": LeNet, "simplenet": SimpleNet, "vgg16": VGG16, "resnet18": ResNet18}
PRETRAINED = {"resnet18": "ResNet18_Weights.IMAGENET1K_V1"}


def load_pretrained(model: nn.Module, arch: str) -> None:
    """Copy torchvision's ImageNet weights into ``model`` (all layers but the class head; ``conv1`` only
    for 3 channels). The weights come from torch hub's cache (``$TORCH_HOME/hub/checkpoints``), downloaded
    there when the machine is online; offline and uncached this raises an error that says so."""
    if arch not in PRETRAINED:
        raise ValueError(
            f"no pretrained weights for classifier {arch!r}; available for {sorted(PRETRAINED)}"
        )
    from torchvision.models import ResNet18_Weights

    weights = ResNet18_Weights.IMAGENET1K_V1
    try:
        state = weights.get_state_dict(progress=False)
    except Exception as e:  # URLError, HTTPError, socket errors: no internet and nothing cached
        import torch.hub

        raise RuntimeError(
            f"classifier.pretrained: cannot load {PRETRAINED[arch]} ({type(e).__name__}: {e}). Download "
            f"{weights.url} into {torch.hub.get_dir()}/checkpoints/ on a machine with internet access, "
            f"or set `pretrained: false`"
        ) from e
    own = model.net.state_dict()
    keep = {
        k: v
        for k, v in state.items()
        if k in own and own[k].shape == v.shape and not k.startswith("fc.")
    }
    own.update(keep)
    model.net.load_state_dict(own)


def build_classifier(arch: str, **kwargs) -> nn.Module:
    """Instantiate a classifier by name; ``kwargs`` are its constructor arguments."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown classifier architecture {arch!r}; known: {sorted(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch](**kwargs)
