"""The model classes a saved model file can name, except the upsampled decoder (which wraps one of
these; ``models.io`` adds it). A module of its own so that ``upsampled`` can build its base without
importing ``io``."""

from __future__ import annotations

from torch import nn

from manifold_xai.data.torus import TorusRenderer
from manifold_xai.models.autoencoder import ConvAutoEncoder
from manifold_xai.models.classifiers import ARCHITECTURES
from manifold_xai.models.denoiser import Denoiser
from manifold_xai.models.vae import BurgessVAE

BASE_CLASSES: dict[str, type[nn.Module]] = {
    "burgess_vae": BurgessVAE,
    "conv_autoencoder": ConvAutoEncoder,
    "torus_renderer": TorusRenderer,
    "denoiser": Denoiser,
    **ARCHITECTURES,
}


def build_base(name: str, kwargs: dict) -> nn.Module:
    if name not in BASE_CLASSES:
        raise ValueError(f"unknown model class {name!r}; known: {sorted(BASE_CLASSES)}")
    return BASE_CLASSES[name](**kwargs)
