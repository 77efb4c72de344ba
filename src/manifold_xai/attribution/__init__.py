"""Attribution methods: the registry (``registry``), the built-ins (``builtin``), Captum classes and a
researcher's own functions (``plugins``), and the batched computation (``compute``)."""

from manifold_xai.attribution.compute import attribute, attribute_each, predict
from manifold_xai.attribution.registry import resolve_methods

__all__ = ["attribute", "attribute_each", "predict", "resolve_methods"]
