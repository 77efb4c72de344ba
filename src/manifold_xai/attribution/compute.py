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

from manifold_xai.attribution.manifold import ManifoldContext
from manifold_xai.attribution.registry import (
    computation_params,
    expand_projections,
    method_needs,
    resolve_methods,
)
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
    manifold: ManifoldContext | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Attributions of ``images (n, c, h, w)`` (array or tensor) for each method, of the logit of
    ``targets (n,)`` or, by default, of the model's predicted class.

    ``methods`` maps names to method blocks (``registry``; a built-in's left-out parameters take their
    defaults, e.g. ``{"integrated_gradients": {}}``; ``{"project": "gradient"}`` projects another method
    onto the tangent space). ``manifold``: the images' manifold (``attribution.manifold.ManifoldContext``,
    image ``i`` = its sample ``i``), required by the methods that use it. ``device`` defaults to the
    model's. The model is used in eval mode without parameter gradients and left as it was (``borrowed``).
    Returns ``attribution (m, n, c, h, w) float32`` in the order of ``methods`` and ``predicted (n,) int64``.
    Stochastic methods are seeded per batch from ``seed``, so results do not depend on earlier batches; a
    projection's base is seeded as the base itself, so it projects exactly the base's attribution.
    """
    methods = prepare_methods(methods, manifold)
    functions = resolve_methods(methods)  # validated and imported once per call
    images = as_numpy(images, np.float32)
    device = torch.device(device) if device is not None else model_device(model)
    with borrowed(model, device):
        return _attribute(
            model, images, methods, functions, device, batch_size, seed, targets, manifold
        )


NEEDS = {"decoder": "decoder and latents", "tangent": "tangent spaces"}
PROJECTION_BLOCK = (
    64  # images whose tangent spaces are in memory at once when projecting stored maps
)


def prepare_methods(methods: dict[str, dict], manifold: ManifoldContext | None) -> dict[str, dict]:
    """Method blocks with their defaults and expanded projections; ``ValueError`` when a method needs
    the manifold and none is given."""
    methods = expand_projections(
        {name: computation_params(block, name) for name, block in methods.items()}
    )
    if manifold is None:
        for name, block in methods.items():
            needs = " and ".join(NEEDS[n] for n in sorted(method_needs(name, block)))
            if needs:
                raise ValueError(
                    f"attribution method {name!r} needs the images' {needs} (pass "
                    "manifold=ManifoldContext(...), or tangent=/decoder= to explain)"
                )
    return methods


def _key(name: str, params: dict) -> tuple[str, str]:
    """What identifies a computed attribution: the method and its parameters (not its batch size)."""
    kept = sorted((k, repr(v)) for k, v in params.items() if k not in ("batch_size", "name"))
    return name, repr(kept)


def _seed_name(name: str, block: dict) -> str:
    return block["base"]["name"] if "project" in block else name


def _attribute(model, images, methods, functions, device, batch_size, seed, targets, manifold):
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
        batch = manifold.batch(start, start + len(x), device) if manifold is not None else None
        computed = {}  # this batch's attributions, by method and parameters
        for m, (name, fn) in enumerate(functions.items()):
            block = methods[name]
            torch.manual_seed(derive_seed(seed, _seed_name(name, block), start))
            base = _key(block["base"]["name"], block["base"]) if "project" in block else None
            if base in computed:  # a projection of a method computed above: project that
                attr = batch.project(computed[base])
            else:
                attr = fn(model, x.clone().requires_grad_(True), target, block, batch)
            computed[_key(name, block)] = attr.detach()
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
    manifold: ManifoldContext | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``attribute`` one method at a time, each with its own ``batch_size`` parameter: returns
    ``{method: (n, c, h, w) float32}`` and ``predicted (n,)``. A projection of a method computed here is
    that method's attribution projected (not computed again)."""
    methods = prepare_methods(methods, manifold)
    results, predicted = {}, np.zeros(len(images), np.int64)
    computed = {}
    order = sorted(methods, key=lambda name: "project" in methods[name])  # projections last
    for name in order:
        params = methods[name]
        base = _key(params["base"]["name"], params["base"]) if "project" in params else None
        if base in computed:  # project the base's maps, a block of images at a time
            stored = computed[base]
            results[name] = np.empty_like(stored)
            for start in range(0, len(stored), PROJECTION_BLOCK):
                block = np.arange(start, min(len(stored), start + PROJECTION_BLOCK))
                flat = stored[block].reshape(len(block), -1)
                results[name][block] = manifold.project(flat, block).reshape(stored[block].shape)
            continue
        attr, predicted = attribute(
            model,
            images,
            {name: params},
            device=device,
            batch_size=params.get("batch_size", 20),
            seed=seed,
            targets=targets,
            manifold=manifold,
        )
        results[name] = computed[_key(name, params)] = attr[0]
    return {name: results[name] for name in methods}, predicted
