"""Sanity checks for attributions (Adebayo et al. 2018): model-parameter randomisation.

- ``parameter_layers``: the modules that own parameters, in **execution** order (recorded with forward
  hooks on one batch), not registration order (Quantus's order).
- ``randomise``: a copy of the model whose named layers are re-initialised with PyTorch's default
  initialisation (``reset_parameters``; BatchNorm: weight 1, bias 0 and its running statistics reset),
  each from its own seed ``(seed, layer position)``; every other parameter and buffer is untouched.
- ``randomisation_states``: the models to explain. ``cascading``: from the output layer down, each
  state randomises one more layer on top of the previous (the copy is never restored); ``independent``:
  one layer at a time, the rest original.
- ``spearman``, ``ssim``: per-sample similarity of two attributions: Spearman rank correlation of the
  flattened maps (scipy ``rankdata``, then Pearson), and SSIM (scikit-image) of the per-pixel |a| maps
  each scaled to [0, 1] by its maximum (as Adebayo et al.).
- ``random_tangent_attribution``: the attribution that fails the check by construction: a Gaussian
  random vector inside the tangent space (Section 5.3 of the paper). It lies entirely in the tangent
  space (fraction 1) and does not depend on the model at all, so randomising the model leaves it
  unchanged (Spearman 1).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from manifold_xai.runtime import derive_seed


def describe_layer(module: nn.Module) -> str:
    """A reader's name for a layer: ``conv 3×3, 1→32``, ``dense 9216→128``, ``batch norm (64)``, or the
    module's class."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return f"conv {kh}×{kw}, {module.in_channels}→{module.out_channels}"
    if isinstance(module, nn.Linear):
        return f"dense {module.in_features}→{module.out_features}"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return f"batch norm ({module.num_features})"
    return type(module).__name__


def parameter_layers(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Names of the modules with their own parameters, in the order a forward pass on ``example``
    first calls them (modules that never run are left out)."""
    owners = {
        name: m
        for name, m in model.named_modules()
        if any(True for _ in m.parameters(recurse=False))
    }
    order: list[str] = []
    hooks = [
        m.register_forward_hook(
            lambda mod, _i, _o, name=name: order.append(name) if name not in order else None
        )
        for name, m in owners.items()
    ]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for hook in hooks:
            hook.remove()
    return order


def randomise(model: nn.Module, layers: list[str], seed: int) -> nn.Module:
    """A deep copy of ``model`` with the modules named in ``layers`` re-initialised (see module doc)."""
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    for name in layers:
        module = modules.get(name)
        if module is None or not hasattr(module, "reset_parameters"):
            raise ValueError(f"layer {name!r} of {type(model).__name__} cannot be re-initialised")
        torch.manual_seed(derive_seed(seed, "randomise", name))
        module.reset_parameters()
    return out.eval()


def randomisation_states(
    model: nn.Module, layers: list[str], mode: str, seed: int
) -> list[tuple[str, nn.Module]]:
    """``[(label, model), ...]``: for ``cascading`` the label is the lowest randomised layer (states from
    the output layer down to the input layer), for ``independent`` the one randomised layer."""
    if mode == "cascading":
        return [
            (layers[i], randomise(model, layers[i:], seed)) for i in range(len(layers) - 1, -1, -1)
        ]
    if mode == "independent":
        return [(name, randomise(model, [name], seed)) for name in reversed(layers)]
    raise ValueError(f"randomisation mode must be cascading or independent, got {mode!r}")


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n,) float64`` Spearman rank correlation between ``a (n, ...)`` and ``b (n, ...)`` per sample
    (NaN where a map is constant)."""
    ra = rankdata(np.asarray(a, np.float64).reshape(len(a), -1), axis=1)
    rb = rankdata(np.asarray(b, np.float64).reshape(len(b), -1), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denominator = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (ra * rb).sum(1) / denominator, np.nan)


def _unit_maps(attribution: np.ndarray) -> np.ndarray:
    maps = np.abs(np.asarray(attribution, np.float64)).sum(axis=1)  # (n, h, w)
    peak = maps.reshape(len(maps), -1).max(1)[:, None, None]
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n,) float64`` SSIM between the |a| maps of ``a (n, c, h, w)`` and ``b (n, c, h, w)``, each
    scaled to [0, 1] (scikit-image's ``structural_similarity``, ``data_range=1``)."""
    from skimage.metrics import structural_similarity

    ma, mb = _unit_maps(a), _unit_maps(b)
    window = min(7, *(s - (1 - s % 2) for s in ma.shape[1:]))  # odd, at most the image side
    return np.array(
        [
            structural_similarity(x, y, data_range=1.0, win_size=window)
            for x, y in zip(ma, mb, strict=True)
        ]
    )


def random_tangent_attribution(basis: np.ndarray, rank: np.ndarray, seed: int) -> np.ndarray:
    """``(n, d) float32``: per sample, ``Σ_j g_j u_j`` with ``g ~ N(0, I_rank)`` over the first ``rank``
    orthonormal basis rows ``basis (n, k, d)``, seeded by (seed, sample position)."""
    out = np.zeros((len(basis), basis.shape[2]), np.float32)
    for i, (u, r) in enumerate(zip(basis, rank, strict=True)):
        g = np.random.default_rng([seed, i]).standard_normal(int(r))
        out[i] = g @ np.asarray(u[: int(r)], np.float64)
    return out
