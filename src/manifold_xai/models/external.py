"""A researcher's own classifier or manifold model, checked and brought into the pipeline's model format.

A config names a model it did not train (``classifier.external``, ``manifold: {model: external}``) as

- ``module: "package.module:Class"`` or ``"path/to/file.py:Class"``, ``kwargs`` for the constructor, and
  ``weights``: a state dict saved with ``torch.save(model.state_dict(), path)``, read with
  ``weights_only=True`` (no code runs); or
- ``archive``: a ``torch.export`` archive (``torch.export.save``; export it with a dynamic batch
  dimension) or a TorchScript archive (``torch.jit.save``).

``import_external`` loads it, checks it against the run's data (a classifier maps a batch of the data's
images to ``(b, n_classes)`` logits; a manifold model has ``decode`` mapping ``(b, k)`` latents to images
of the data's shape, and ``encode`` for the reconstructive approach) and returns the model-file payload
that ``models.io`` writes and loads like any other model: class ``external`` (the module spec, its
kwargs and the state dict) or ``archive`` (the archive's bytes). Every problem is a ``ValueError``
naming the file: missing or unexpected weights, wrong shapes, a pickle that is not weights, an archive
that is neither kind, outputs that do not fit the data.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from manifold_xai.attribution.plugins import load_function

EXTERNAL, ARCHIVE = "external", "archive"


class ExportedModel(nn.Module):
    """A ``torch.export`` program as a module. Its graph is fixed at export (dropout and batch norm as they
    were then), so switching the mode only records it instead of raising as the exported module does."""

    def __init__(self, program: nn.Module):
        super().__init__()
        self.program = program

    def train(self, mode: bool = True) -> ExportedModel:
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x)


def build_external(module: str, kwargs: dict, state_dict: dict, where: str) -> nn.Module:
    """``module``'s class built with ``kwargs`` and loaded (strictly) with ``state_dict``."""
    cls = load_function(module)
    try:
        model = cls(**kwargs)
    except Exception as e:
        raise ValueError(f"{where}: cannot build {module} with {kwargs}: {e}") from e
    if not isinstance(model, nn.Module):
        raise ValueError(f"{where}: {module} is not a torch module class")
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) or first[0]
        raise ValueError(f"{where}: the weights do not fit {module}: {detail}") from e
    return model


def read_state_dict(path: str | Path) -> dict:
    """A state dict (tensors by name) from ``path``, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such weights file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:200]
        raise ValueError(
            f"{path} is not a weights file (a state dict loadable with weights_only=True): {reason}"
        ) from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a checkpoint dict that holds the weights under 'state_dict'
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict: expected tensors by parameter name")
    return state


def load_archive(data: bytes, where: str) -> nn.Module:
    """A ``torch.export`` or TorchScript archive from its bytes."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile as e:
        raise ValueError(f"{where} is not a torch.export or TorchScript archive (not a zip)") from e
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        try:
            return torch.jit.load(io.BytesIO(data), map_location="cpu")
        except Exception as e:
            raise ValueError(f"{where}: unreadable TorchScript archive: {e}") from e
    try:
        return ExportedModel(torch.export.load(io.BytesIO(data)).module())
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:200]
        raise ValueError(
            f"{where} is neither a torch.export nor a TorchScript archive: {reason}"
        ) from e


def import_external(spec: dict, role: str, images: np.ndarray, **expect) -> tuple[dict, nn.Module]:
    """Load the model ``spec`` names, check it as a ``role`` (``classifier`` or ``manifold``) on a batch
    of the data's ``images (b, c, h, w)`` with ``expect`` (``n_classes``; ``latent_dim``, ``encoder``),
    and return ``(payload fields for models.io, model)``."""
    if spec.get("archive"):
        where = spec["archive"]
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"{where}: no such archive")
        data = path.read_bytes()
        model = load_archive(data, where)
        payload = {
            "class": ARCHIVE,
            "kwargs": {"latent_dim": expect.get("latent_dim")},
            "archive": torch.frombuffer(bytearray(data), dtype=torch.uint8),
        }
    else:
        where = spec["weights"]
        state = read_state_dict(where)
        model = build_external(spec["module"], spec.get("kwargs", {}), state, where)
        kwargs = {"module": spec["module"], "kwargs": dict(spec.get("kwargs", {}))}
        if expect.get("latent_dim") is not None:
            kwargs["latent_dim"] = expect["latent_dim"]
        payload = {"class": EXTERNAL, "kwargs": kwargs, "state_dict": state}
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(images[:4], dtype=np.float32))
    with torch.no_grad():
        if role == "classifier":
            check_classifier(model, x, expect["n_classes"], where)
        else:
            check_manifold(model, x, expect["latent_dim"], expect.get("encoder", False), where)
    return payload, model


def _call(fn, x, where: str, what: str):
    try:
        return fn(x)
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:200]
        raise ValueError(
            f"{where}: {what} fails on input of shape {tuple(x.shape)}: {reason}"
        ) from e


def check_classifier(model: nn.Module, x: torch.Tensor, n_classes: int, where: str) -> None:
    out = _call(model, x, where, "the classifier")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(x), n_classes):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"{where}: the classifier maps the data's images {tuple(x.shape)} to {shape}; "
            f"expected logits ({len(x)}, {n_classes})"
        )


def check_manifold(
    model: nn.Module, x: torch.Tensor, latent_dim: int, encoder: bool, where: str
) -> None:
    if not hasattr(model, "decode"):
        raise ValueError(f"{where}: a manifold model needs a decode(z) method")
    z = torch.zeros(len(x), latent_dim)
    images = _call(model.decode, z, where, f"decode with latent_dim {latent_dim}")
    if tuple(images.shape) != tuple(x.shape):
        raise ValueError(
            f"{where}: decode maps latents {tuple(z.shape)} to {tuple(images.shape)}; the data's "
            f"images are {tuple(x.shape)}"
        )
    if encoder:
        if not hasattr(model, "encode"):
            raise ValueError(f"{where}: the reconstructive approach needs an encode(x) method")
        latents = _call(model.encode, x, where, "encode")
        if tuple(latents.shape) != (len(x), latent_dim):
            raise ValueError(
                f"{where}: encode maps the data's images {tuple(x.shape)} to "
                f"{tuple(latents.shape)}; expected ({len(x)}, {latent_dim})"
            )
