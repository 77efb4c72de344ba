"""Bring your own models: a classifier and an autoencoder trained here, outside the pipeline, then the
pipeline's tangent spaces, attributions, alignment, summaries and figures on them.

    uv run python examples/own_models.py /tmp/own-models     # a working directory of its own

Trains both models for a few epochs on scikit-learn's digits (32×32), saves their state dicts to
``models/``, copies this file beside them (the config names its classes by file path), writes
``own_models.yaml`` (the config below) and runs the Snakefile on it. Nothing here is special to the
example: any ``nn.Module`` class with its state dict, or a torch.export / TorchScript archive, will do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]

# The config, as in the README: the researcher's own decoder/encoder and classifier on the digits.
CONFIG = """\
standalone: true
seeds: [0]
bootstrap_resamples: 200
datasets:
  digits:
    source: {kind: digits, image_size: 32}
    approach: reconstructive        # the test images are D(E(x)): on the decoder's manifold
    manifold:
      model: external
      latent_dim: 8
      module: examples/own_models.py:TinyAutoencoder
      weights: models/autoencoder.pt
    classifier:
      external: {module: examples/own_models.py:TinyClassifier, weights: models/classifier.pt}
    evaluation:
      n_test: 60
      counterfactuals: {n_test: 10, max_steps: 10}   # walks along the gradient until the label flips
    attributions: {gradient: {}, integrated_gradients: {steps: 16}, smoothgrad: {samples: 8}}
"""


class TinyClassifier(nn.Module):
    """Two convolutions and a linear layer: (b, 1, 32, 32) images to (b, 10) logits."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * width * 8 * 8, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TinyAutoencoder(nn.Module):
    """``encode``: (b, 1, 32, 32) images to (b, latent_dim); ``decode``: back to images in [0, 1]."""

    def __init__(self, latent_dim: int = 8):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 8 * 8, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32 * 8 * 8),
            nn.ReLU(),
            nn.Unflatten(1, (32, 8, 8)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1797 scikit-learn digits at 32×32 in [0, 1], and their labels."""
    from manifold_xai.data.sources import load_digits_source

    source = load_digits_source(image_size=32)
    return torch.from_numpy(source.images), torch.from_numpy(source.labels)


def fit(model: nn.Module, x: torch.Tensor, loss, epochs: int) -> nn.Module:
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimiser.zero_grad()
            loss(model, batch).backward()
            optimiser.step()
    return model.eval()


def main(workdir: Path) -> None:
    torch.manual_seed(0)
    x, y = digits()
    classifier = fit(
        TinyClassifier(), x, lambda m, b: nn.functional.cross_entropy(m(x[b]), y[b]), epochs=8
    )
    autoencoder = fit(
        TinyAutoencoder(), x, lambda m, b: nn.functional.binary_cross_entropy(m(x[b]), x[b]), 15
    )
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    (workdir / "examples").mkdir(exist_ok=True)
    torch.save(classifier.state_dict(), workdir / "models" / "classifier.pt")
    torch.save(autoencoder.state_dict(), workdir / "models" / "autoencoder.pt")
    shutil.copy(__file__, workdir / "examples" / "own_models.py")
    (workdir / "own_models.yaml").write_text(CONFIG)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(workdir / "own_models.yaml"),
            "--cores",
            "2",
        ],
        check=True,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "own-models").resolve())
