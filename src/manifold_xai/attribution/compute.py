"""Attributions of a batch of images for each configured method, batched and seeded (docs/methods.md).

Every method explains the **pre-softmax logit of the predicted class** (argmax on the clean input), or
of given ``targets``, of a model in eval mode, and returns signed, per-channel maps of the input's shape.
The methods are looked up in ``registry`` (built-ins, Captum classes, a researcher's own functions).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from manifold_xai.attribution.registry import computation_params, resolve_methods
from manifold_xai.runtime import derive_seed

log = logging.getLogger(__name__)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).argmax(dim=1)


def attribute(
    model: nn.Module,
    images: np.ndarray,
    methods: dict[str, dict],
    *,
    device: torch.device,
    batch_size: int,
    seed: int,
    targets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Attributions of ``images (n, c, h, w)`` for each method, of the logit of ``targets (n,)`` or, by
    default, of the model's predicted class.

    Returns ``attribution (m, n, c, h, w) float32`` in the order of ``methods`` and ``predicted (n,) int64``.
    Stochastic methods are seeded per batch from ``seed``, so results do not depend on earlier batches.
    """
    methods = {name: computation_params(block) for name, block in methods.items()}
    functions = resolve_methods(methods)  # validated and imported once per call
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
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
            else torch.from_numpy(np.asarray(targets[start : start + len(x)])).to(device)
        )
        for m, (name, fn) in enumerate(functions.items()):
            torch.manual_seed(derive_seed(seed, name, start))
            attr = fn(model, x.clone().requires_grad_(True), target, methods[name])
            out[m, start : start + len(x)] = attr.detach().cpu().numpy()
        log.info("attributions %d/%d", min(n, start + batch_size), n)
    return out, predicted


def attribute_each(
    model: nn.Module,
    images: np.ndarray,
    methods: dict[str, dict],
    *,
    device: torch.device,
    seed: int,
    targets: np.ndarray | None = None,
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
