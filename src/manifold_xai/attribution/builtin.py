"""The built-in attribution methods, Captum-backed (docs/methods.md).

Each has the signature of every attribution method (``registry.AttributionFn``):
``fn(model, x (b, c, h, w) requires_grad, target (b,) int64, params: dict) -> (b, c, h, w)``, and explains
the pre-softmax logit of ``target``. Captum's traps are set explicitly: ``Saliency(abs=False)``; IG's
quadrature ``method`` and ``multiply_by_inputs``; SmoothGrad's ``stdevs`` is an absolute standard
deviation on the [0, 1] pixel scale.

- ``gradient``: ∇_x f_c(x).
- ``integrated_gradients``: x ⊙ ∫₀¹ ∇f_c(αx) dα (baseline 0): ``steps``, ``method`` (quadrature).
- ``path_averaged_gradient``: the same path integral without ``⊙ x`` (Captum's
  ``multiply_by_inputs=False``). The paper's MNIST code computed this and reported it as "Integrated
  Gradients"; here it carries its own name, so no output calls it IG.
- ``input_x_gradient``: x ⊙ ∇_x f_c(x).
- ``smoothgrad``: mean gradient over ``samples`` copies of x + N(0, ``stdev``²), seeded by the caller.
"""

from __future__ import annotations

import torch
from captum.attr import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency


def gradient(model, x, target, _params) -> torch.Tensor:
    return Saliency(model).attribute(x, target=target, abs=False)


def integrated_gradients(model, x, target, params, multiply_by_inputs: bool = True):
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


def path_averaged_gradient(model, x, target, params):
    return integrated_gradients(model, x, target, params, multiply_by_inputs=False)


def input_x_gradient(model, x, target, _params):
    return InputXGradient(model).attribute(x, target=target)


def smoothgrad(model, x, target, params):
    return NoiseTunnel(Saliency(model)).attribute(
        x,
        nt_type="smoothgrad",
        nt_samples=int(params["samples"]),
        nt_samples_batch_size=int(params["samples"]),  # all noisy copies in one pass (see IG)
        stdevs=float(params["stdev"]),
        target=target,
        abs=False,
    )
