"""Feature attributions by name, Captum-backed and batched (docs/architecture.md).

Every method explains the **pre-softmax logit of the predicted class** (argmax on the clean input) of a
model in eval mode, and returns signed, per-channel maps of the input's shape. Captum's traps are set
explicitly: ``Saliency(abs=False)``; IG's quadrature ``method`` and ``multiply_by_inputs``; SmoothGrad's
``stdevs`` is an absolute standard deviation on the [0, 1] pixel scale.

Methods and their parameters (config ``attributions:`` block):

- ``gradient``: ∇_x f_c(x).
- ``integrated_gradients``: Integrated Gradients, x ⊙ ∫₀¹ ∇f_c(αx) dα (baseline 0): ``steps`` (50),
  ``method`` ("gausslegendre").
- ``path_averaged_gradient``: the same path integral without ``⊙ x``, ∫₀¹ ∇f_c(αx) dα (Captum's
  ``multiply_by_inputs=False``). The paper's MNIST code computed this and reported it as "Integrated
  Gradients"; here it carries its own name, so no output calls it IG.
- ``input_x_gradient``: x ⊙ ∇_x f_c(x).
- ``smoothgrad``: mean gradient over ``samples`` (25) copies of x + N(0, ``stdev``²) (0.02), seeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency
from torch import nn

from manifold_xai.runtime import derive_seed

log = logging.getLogger(__name__)

AttributionFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, dict], torch.Tensor]


def _gradient(model, x, target, _params):
    return Saliency(model).attribute(x, target=target, abs=False)


def _integrated_gradients(model, x, target, params, multiply_by_inputs: bool = True):
    # All n_steps interpolants of the batch in one forward/backward pass; the method's batch_size
    # (config) bounds the memory: batch_size · steps images at a time.
    ig = IntegratedGradients(model, multiply_by_inputs=multiply_by_inputs)
    return ig.attribute(
        x,
        baselines=torch.zeros_like(x),
        target=target,
        n_steps=int(params["steps"]),
        method=params["method"],
    )


def _path_averaged_gradient(model, x, target, params):
    return _integrated_gradients(model, x, target, params, multiply_by_inputs=False)


def _input_x_gradient(model, x, target, _params):
    return InputXGradient(model).attribute(x, target=target)


def _smoothgrad(model, x, target, params):
    return NoiseTunnel(Saliency(model)).attribute(
        x,
        nt_type="smoothgrad",
        nt_samples=int(params["samples"]),
        nt_samples_batch_size=int(params["samples"]),  # all noisy copies in one pass (see IG)
        stdevs=float(params["stdev"]),
        target=target,
        abs=False,
    )


METHODS: dict[str, AttributionFn] = {
    "gradient": _gradient,
    "integrated_gradients": _integrated_gradients,
    "path_averaged_gradient": _path_averaged_gradient,
    "input_x_gradient": _input_x_gradient,
    "smoothgrad": _smoothgrad,
}
# Parameters each method requires (the config schema fills defaults; this guards direct library use).
REQUIRED_PARAMS = {
    "gradient": (),
    "integrated_gradients": ("steps", "method"),
    "path_averaged_gradient": ("steps", "method"),
    "input_x_gradient": (),
    "smoothgrad": ("samples", "stdev"),
}


def check_methods(methods: dict[str, dict]) -> None:
    for name, params in methods.items():
        if name not in METHODS:
            raise ValueError(f"unknown attribution method {name!r}; known: {sorted(METHODS)}")
        missing = [p for p in REQUIRED_PARAMS[name] if p not in params]
        if missing:
            raise ValueError(f"attribution method {name!r} lacks parameters {missing}")


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
    check_methods(methods)
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
        for m, (name, params) in enumerate(methods.items()):
            torch.manual_seed(derive_seed(seed, name, start))
            attr = METHODS[name](model, x.clone().requires_grad_(True), target, params)
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
            batch_size=params["batch_size"],
            seed=seed,
            targets=targets,
        )
        results[name] = attr[0]
    return results, predicted
