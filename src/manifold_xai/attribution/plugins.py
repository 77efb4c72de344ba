"""Attribution methods a config names rather than the package defines (docs/methods.md).

- **Any Captum attribution class** (``captum: DeepLift``): ``captum.attr.<class>(model, **init)`` and
  ``.attribute(x, target=target, **attribute)``. Lists in ``attribute`` become tuples (Captum's window
  and stride shapes); ``baselines: zeros`` is a zero image per input, ``baselines: uniform`` a seeded
  uniform [0, 1) image. Layer and neuron attributions (which need a layer) and wrappers such as
  ``NoiseTunnel`` are refused: they do not return an attribution of the input for a model alone.
- **A researcher's own function** (``function: "package.module:name"`` or ``"path/to/file.py:name"``,
  a file path relative to the working directory): called as ``name(model, x, target, params)`` with
  ``x (b, c, h, w) float32`` requiring grad, ``target (b,) int64`` (the class to explain) and the
  method's ``params`` dict; it returns a tensor or array of ``x``'s shape. Stochastic functions draw
  from torch's global generator, which the pipeline seeds per batch.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

import numpy as np
import torch

CAPTUM_REFUSED = ("NoiseTunnel",)  # wrappers of another attribution


def captum_class(name: str):
    """The Captum class ``captum.attr.<name>``; ``ValueError`` naming the problem otherwise."""
    import captum.attr as attr

    cls = getattr(attr, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, attr.Attribution)):
        raise ValueError(f"captum.attr has no attribution class {name!r}")
    if issubclass(cls, attr.LayerAttribution | attr.NeuronAttribution) or name in CAPTUM_REFUSED:
        raise ValueError(
            f"captum.attr.{name} attributes to a layer or wraps another method; name a method "
            f"that attributes to the input (e.g. DeepLift, GradientShap, GuidedBackprop, Occlusion)"
        )
    return cls


def _attribute_arguments(arguments: dict, x: torch.Tensor) -> dict:
    out = {}
    for key, value in arguments.items():
        if key == "baselines" and value == "zeros":
            value = torch.zeros_like(x)
        elif key == "baselines" and value == "uniform":
            value = torch.rand(x.shape, dtype=x.dtype).to(x.device)
        elif isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def captum_method(name: str):
    """An attribution function (``registry.AttributionFn``) calling Captum's class ``name``."""
    cls = captum_class(name)

    def compute(model, x, target, params):
        method = cls(model, **params.get("init", {}))
        return method.attribute(
            x, target=target, **_attribute_arguments(params.get("attribute", {}), x)
        )

    compute.__name__ = f"captum_{name}"
    return compute


def function_file(spec) -> Path | None:
    """The Python file of a ``function:`` spec given by path (None for a module path or a callable)."""
    if not isinstance(spec, str):
        return None
    where = spec.rsplit(":", 1)[0]
    return Path(where) if where.endswith(".py") else None


def load_function(spec: str):
    """The callable named by ``"package.module:name"`` or ``"path/to/file.py:name"``."""
    if ":" not in spec:
        raise ValueError(f"function {spec!r}: expected 'module:name' or 'file.py:name'")
    where, attribute = spec.rsplit(":", 1)
    path = function_file(spec)
    try:
        if path is not None:
            if not path.is_file():
                raise ValueError(f"function {spec!r}: no file {path}")
            module_spec = importlib.util.spec_from_file_location(
                f"manifold_xai_user_{path.stem}", path
            )
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ImportError as e:
        raise ValueError(f"function {spec!r}: cannot import {where!r} ({e})") from e
    fn = getattr(module, attribute, None)
    if not callable(fn):
        raise ValueError(f"function {spec!r}: {where!r} has no callable {attribute!r}")
    return fn


def custom_method(spec):
    """An attribution function calling the researcher's ``spec`` (a spec string, or from Python the
    function itself); its result is checked for shape."""
    fn = spec if callable(spec) else load_function(spec)
    spec = spec if isinstance(spec, str) else getattr(fn, "__name__", repr(fn))

    def compute(model, x, target, params):
        result = fn(model, x, target, params.get("params", {}))
        result = torch.as_tensor(
            np.asarray(result.detach().cpu()) if torch.is_tensor(result) else result
        )
        if tuple(result.shape) != tuple(x.shape):
            raise ValueError(
                f"attribution function {spec!r} returned shape {tuple(result.shape)}, "
                f"expected the input's {tuple(x.shape)}"
            )
        return result

    compute.__name__ = f"custom_{fn.__name__}"
    return compute
