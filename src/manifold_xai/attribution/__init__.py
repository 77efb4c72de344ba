"""Attribution methods: the registry (``registry``), the built-ins (``builtin``), Captum classes and a
researcher's own functions (``plugins``), and the batched computation (``compute``).

The package's names are imported on first use: the Snakefile and the figure and summary jobs read the
registry without paying for torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = ["attribute", "attribute_each", "predict", "resolve_methods"]
_HOMES = {
    "attribute": "compute",
    "attribute_each": "compute",
    "predict": "compute",
    "resolve_methods": "registry",
}

if TYPE_CHECKING:
    from manifold_xai.attribution.compute import attribute, attribute_each, predict  # noqa: F401
    from manifold_xai.attribution.registry import resolve_methods  # noqa: F401


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
