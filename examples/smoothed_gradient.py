"""A researcher's own attribution method, plugged into the pipeline by import path (docs/methods.md).

configs/tiny.yaml names it::

    smoothed_gradient: {function: "examples/smoothed_gradient.py:smoothed_gradient", params: {sigma: 1.0}}

The signature every attribution function has: ``fn(model, x, target, params)`` with ``x (b, c, h, w)
float32`` requiring grad, ``target (b,) int64`` the class whose logit is explained, ``params`` the
config block's ``params`` dict; it returns an attribution of ``x``'s shape (tensor or array).
"""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter


def smoothed_gradient(model, x, target, params):
    """The gradient of the target logit, each channel blurred with a Gaussian of ``sigma`` pixels."""
    logits = model(x)
    selected = logits.gather(1, target.view(-1, 1)).sum()
    (gradient,) = torch.autograd.grad(selected, x)
    sigma = float(params.get("sigma", 1.0))
    blurred = gaussian_filter(gradient.detach().cpu().numpy(), sigma=(0, 0, sigma, sigma))
    return torch.from_numpy(np.ascontiguousarray(blurred, dtype=np.float32))
