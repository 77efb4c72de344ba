"""manifold-xai: how much of an attribution lies in the tangent space of the data manifold.

The public API (docs/api.md) is re-exported here from ``manifold_xai.api``, imported on first use so
that the pipeline's light modules do not pay for torch and xarray::

    import manifold_xai as mx
    space = mx.open_tangent_space("results/digits/seed0/tangent.zarr")
    mx.fractions(space, mx.explain(model, images, "gradient"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "BasisTangentSpace",
    "MatrixFreeTangentSpace",
    "TangentFraction",
    "TangentSpace",
    "decompose",
    "explain",
    "fractions",
    "from_basis",
    "from_decoder",
    "from_local_pca",
    "load_model",
    "open_dataset",
    "open_tangent_space",
    "random_baseline",
    "random_fractions",
]

if TYPE_CHECKING:
    from manifold_xai.api import (  # noqa: F401
        BasisTangentSpace,
        MatrixFreeTangentSpace,
        TangentSpace,
        decompose,
        explain,
        fractions,
        from_basis,
        from_decoder,
        from_local_pca,
        load_model,
        open_dataset,
        open_tangent_space,
        random_baseline,
        random_fractions,
    )
    from manifold_xai.metrics import TangentFraction  # noqa: F401


def __getattr__(name: str):
    if name == "TangentFraction":
        return importlib.import_module("manifold_xai.metrics").TangentFraction
    if name in __all__:
        return getattr(importlib.import_module("manifold_xai.api"), name)
    raise AttributeError(f"module 'manifold_xai' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
