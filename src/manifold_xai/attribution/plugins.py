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

Two depths of checking. ``captum_class`` and ``load_function`` import what they name and check it
fully (the jobs that compute attributions, the Python API). ``check_captum`` and ``check_function``
read source files only, importing neither torch nor Captum nor the researcher's module, so the
Snakefile can check a config in a fraction of a second: they catch a misspelt class, file or function
name before any job runs; what only an import can tell (a module that fails to import, a name bound by
``import *``) stops the attributions job with one line instead.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
from pathlib import Path

CAPTUM_REFUSED = ("NoiseTunnel",)  # wrappers of another attribution
# captum.attr's layer and neuron attributions: by name prefix, and the one without it
CAPTUM_LAYER_PREFIXES = ("Layer", "Neuron")
CAPTUM_LAYER_NAMES = ("InternalInfluence",)


def _no_class(name: str) -> ValueError:
    return ValueError(f"captum.attr has no attribution class {name!r}")


def _not_of_the_input(name: str) -> ValueError:
    return ValueError(
        f"captum.attr.{name} attributes to a layer or wraps another method; name a method "
        f"that attributes to the input (e.g. DeepLift, GradientShap, GuidedBackprop, Occlusion)"
    )


def captum_class(name: str):
    """The Captum class ``captum.attr.<name>``; ``ValueError`` naming the problem otherwise."""
    import captum.attr as attr

    cls = getattr(attr, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, attr.Attribution)):
        raise _no_class(name)
    if issubclass(cls, attr.LayerAttribution | attr.NeuronAttribution) or name in CAPTUM_REFUSED:
        raise _not_of_the_input(name)
    return cls


@functools.cache
def captum_exports() -> frozenset[str]:
    """The names ``captum.attr`` exports (its ``__all__``), read from its source without importing it
    (importing Captum imports torch). Empty when Captum is not installed."""
    spec = importlib.util.find_spec("captum")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    source = Path(spec.submodule_search_locations[0]) / "attr" / "__init__.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def check_captum(name: str) -> None:
    """``captum_class``'s checks that need no import: ``name`` is a class ``captum.attr`` exports and
    not one of its layer, neuron or wrapper classes; ``ValueError`` naming the problem."""
    if not name[:1].isupper() or name not in captum_exports():
        raise _no_class(name)
    if name.startswith(CAPTUM_LAYER_PREFIXES) or name in CAPTUM_LAYER_NAMES + CAPTUM_REFUSED:
        raise _not_of_the_input(name)


def _attribute_arguments(arguments: dict, x) -> dict:
    import torch

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


def files_of(spec: dict) -> list[str]:
    """The files an external model spec (``models.external``: ``weights`` or ``archive``, and a
    ``module`` given by path) reads: inputs of the job that imports it."""
    files = [spec["archive"]] if spec.get("archive") else [spec["weights"]]
    module = function_file(spec["module"]) if spec.get("module") else None
    return files + ([str(module)] if module is not None else [])


def _parse(spec: str) -> tuple[str, str, Path | None]:
    """``(module or file, name, the file's path or None)`` of a function spec; ``ValueError`` for a
    spec without a name or naming a file that does not exist."""
    if ":" not in spec:
        raise ValueError(f"function {spec!r}: expected 'module:name' or 'file.py:name'")
    where, attribute = spec.rsplit(":", 1)
    path = function_file(spec)
    if path is not None and not path.is_file():
        raise ValueError(f"function {spec!r}: no file {path}")
    return where, attribute, path


def load_function(spec: str):
    """The callable named by ``"package.module:name"`` or ``"path/to/file.py:name"``."""
    where, attribute, path = _parse(spec)
    try:
        if path is not None:
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


def _top_level_names(tree: ast.Module) -> tuple[set[str], bool]:
    """The names a module's source binds at top level, and whether it may bind others (``import *``
    or a module ``__getattr__``)."""
    names, open_ended = set(), False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            open_ended |= node.name == "__getattr__"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    open_ended = True
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        else:  # names bound inside a top-level if/try/with/loop are not read: it may bind any
            open_ended |= isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While)
    return names, open_ended


def check_function(spec: str) -> None:
    """``load_function``'s checks that need no import: the file or module exists, parses, and binds
    the name at top level (or may bind it: ``import *``, a module ``__getattr__``); ``ValueError``
    naming the problem."""
    where, attribute, path = _parse(spec)
    if path is not None:
        source = path
    else:
        try:
            found = importlib.util.find_spec(where)  # imports the parents of a dotted name only
        except (ImportError, ValueError) as e:
            raise ValueError(f"function {spec!r}: cannot import {where!r} ({e})") from e
        if found is None:
            raise ValueError(f"function {spec!r}: cannot import {where!r} (no such module)")
        if not (found.origin or "").endswith(".py"):
            return  # a compiled or namespace module: only an import can tell
        source = Path(found.origin)
    try:
        tree = ast.parse(source.read_text(), filename=str(source))
    except SyntaxError as e:
        raise ValueError(f"function {spec!r}: cannot import {where!r} ({e})") from e
    names, open_ended = _top_level_names(tree)
    if attribute not in names and not open_ended:
        raise ValueError(f"function {spec!r}: {where!r} has no callable {attribute!r}")


def custom_method(spec):
    """An attribution function calling the researcher's ``spec`` (a spec string, or from Python the
    function itself); its result is checked for shape."""
    import numpy as np
    import torch

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
