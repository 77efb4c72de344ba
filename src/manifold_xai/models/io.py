"""Save and load models as state dicts plus constructor arguments; nothing is pickled.

A model file is ``{"format", "class", "kwargs", "state_dict"}``: plain types and tensors only, so it loads
with ``torch.load(weights_only=True)`` and cannot execute code. A researcher's own model
(``models.external``) is class ``external`` (kwargs: the module spec and its constructor kwargs; loading
imports that module) or class ``archive`` (an ``archive`` uint8 tensor holding a torch.export or
TorchScript archive).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from manifold_xai.models.catalog import BASE_CLASSES
from manifold_xai.models.external import ARCHIVE, EXTERNAL, build_external, load_archive
from manifold_xai.models.upsampled import UpsampledDecoder
from manifold_xai.store import atomic_path

FORMAT = "manifold-xai/model/1"
MODEL_CLASSES: dict[str, type[nn.Module]] = {**BASE_CLASSES, "upsampled_decoder": UpsampledDecoder}
# The manifold models: each has ``latent_dim``, ``encode`` (except the upsampled decoder and the torus
# renderer, whose latents are known) and ``decode``.
MANIFOLD_CLASSES = (
    "burgess_vae",
    "conv_autoencoder",
    "upsampled_decoder",
    "torus_renderer",
    EXTERNAL,
    ARCHIVE,
)
# Models whose latents have the prior N(0, I) (the generative approach samples it).
GENERATIVE_CLASSES = ("burgess_vae", EXTERNAL, ARCHIVE)


def build_model(name: str, kwargs: dict) -> nn.Module:
    if name not in MODEL_CLASSES:
        raise ValueError(f"unknown model class {name!r}; known: {sorted(MODEL_CLASSES)}")
    return MODEL_CLASSES[name](**kwargs)


def save_model(path: str | os.PathLike, name: str, kwargs: dict, model: nn.Module) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "class": name, "kwargs": dict(kwargs), "state_dict": state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def save_payload(path: str | os.PathLike, payload: dict) -> None:
    """Write a model file from its fields (``class``, ``kwargs`` and ``state_dict`` or ``archive``)."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)


def _external(path, payload: dict) -> nn.Module:
    kwargs = payload["kwargs"]
    if payload["class"] == ARCHIVE:
        model = load_archive(payload["archive"].numpy().tobytes(), str(path))
    else:
        model = build_external(kwargs["module"], kwargs["kwargs"], payload["state_dict"], str(path))
    if kwargs.get("latent_dim") is not None and not hasattr(model, "latent_dim"):
        model.latent_dim = int(kwargs["latent_dim"])
    return model


def load_model(
    path: str | os.PathLike,
    device: torch.device | str = "cpu",
    expect: str | tuple[str, ...] | None = None,
) -> nn.Module:
    """Rebuild a saved model in eval mode; ``expect`` checks the class name (one or a tuple)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise ValueError(f"{path} is not a readable model file: {e}") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a manifold-xai model file (format {FORMAT})")
    expected = (expect,) if isinstance(expect, str) else expect
    if expected is not None and payload["class"] not in expected:
        raise ValueError(
            f"{path} holds a {payload['class']!r} model, expected one of {list(expected)}"
        )
    if payload.get("class") in (EXTERNAL, ARCHIVE):
        return _external(path, payload).to(device).eval()
    if payload.get("class") not in MODEL_CLASSES:
        raise ValueError(
            f"{path}: unknown model class {payload.get('class')!r}; known: {sorted(MODEL_CLASSES)}"
        )
    model = build_model(payload["class"], payload["kwargs"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as e:
        raise ValueError(
            f"{path}: weights do not fit a {payload['class']} with {payload['kwargs']}: {e}"
        ) from e
    return model.to(device).eval()
