"""Attributions of a batch of images for each configured method, batched and seeded (docs/methods.md).

Every method explains the **pre-softmax logit of the predicted class** (argmax on the clean input), or
of given ``targets``, of a model in eval mode, and returns signed, per-channel maps of the input's shape.
The methods are looked up in ``registry`` (built-ins, Captum classes, a researcher's own functions).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from manifold_xai.attribution.registry import computation_params, resolve_methods
from manifold_xai.runtime import derive_seed

log = logging.getLogger(__name__)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(dim=1)


def as_numpy(values, dtype=None) -> np.ndarray:
    """A NumPy array of ``values`` (a tensor on any device, requiring grad or not, or anything
    ``np.asarray`` takes)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model without any)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def borrowed(model: nn.Module, device: torch.device) -> Iterator[nn.Module]:
    """The caller's ``model`` on ``device``, in eval mode, parameters without gradients, for the duration
    of a computation; its device, every submodule's mode and every parameter's ``requires_grad`` are
    restored afterwards, also on error."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    original = model_device(model)
    try:
        model.to(device).eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad_(flag)
        model.to(original)


def attribute(
    model: nn.Module,
    images,
    methods: dict[str, dict],
    *,
    device: torch.device | str | None = None,
    batch_size: int = 64,
    seed: int = 0,
    targets=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Attributions of ``images (n, c, h, w)`` (array or tensor) for each method, of the logit of
    ``targets (n,)`` or, by default, of the model's predicted class.

    ``methods`` maps names to method blocks (``registry``; a built-in's left-out parameters take their
    defaults, e.g. ``{"integrated_gradients": {}}``). ``device`` defaults to the model's. The model is
    used in eval mode without parameter gradients and left as it was (``borrowed``).
    Returns ``attribution (m, n, c, h, w) float32`` in the order of ``methods`` and ``predicted (n,) int64``.
    Stochastic methods are seeded per batch from ``seed``, so results do not depend on earlier batches.
    """
    methods = {name: computation_params(block, name) for name, block in methods.items()}
    functions = resolve_methods(methods)  # validated and imported once per call
    images = as_numpy(images, np.float32)
    device = torch.device(device) if device is not None else model_device(model)
    with borrowed(model, device):
        return _attribute(model, images, methods, functions, device, batch_size, seed, targets)


def _attribute(model, images, methods, functions, device, batch_size, seed, targets):
    n = len(images)
    out = np.zeros((len(methods), *images.shape), dtype=np.float32)
    predicted = np.zeros(n, dtype=np.int64)
    for start in range(0, n, batch_size):
        x = torch.from_numpy(images[start : start + batch_size]).to(device)
        prediction = predict(model, x)
        predicted[start : start + len(x)] = prediction.cpu().numpy()
        target = (
            prediction
            if targets is None
            else torch.from_numpy(as_numpy(targets[start : start + len(x)], np.int64)).to(device)
        )
        for m, (name, fn) in enumerate(functions.items()):
            torch.manual_seed(derive_seed(seed, name, start))
            attr = fn(model, x.clone().requires_grad_(True), target, methods[name])
            out[m, start : start + len(x)] = attr.detach().cpu().numpy()
        log.info("attributions %d/%d", min(n, start + batch_size), n)
    return out, predicted


def attribute_each(
    model: nn.Module,
    images,
    methods: dict[str, dict],
    *,
    device: torch.device | str | None = None,
    seed: int = 0,
    targets=None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``attribute`` one method at a time, each with its own ``batch_size`` parameter: returns
    ``{method: (n, c, h, w) float32}`` and ``predicted (n,)``."""
    results, predicted = {}, np.zeros(len(images), np.int64)
    for name, params in methods.items():
        attr, predicted = attribute(
            model,
            images,
            {name: params},
            device=device,
            batch_size=params.get("batch_size", 20),
            seed=seed,
            targets=targets,
        )
        results[name] = attr[0]
    return results, predicted
