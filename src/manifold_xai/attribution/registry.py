"""The one registry of methods: every map the pipeline computes, compares or draws, by name
(docs/methods.md).

- **Attribution methods** (a dataset's ``attributions:`` block, computed by rule
  ``compute_attributions``): the built-ins (``BUILTIN``), any Captum attribution class
  (``{captum: DeepLift, init: {…}, attribute: {…}}``) and a researcher's own function
  (``{function: "module:name", params: {…}}``; see ``plugins``), and the **tangent projection** of any
  of them (``{project: <method>}``; see ``manifold``). Every block may set ``label`` and ``colour``
  (figures only: changing them re-runs no computation) and ``batch_size``.
- Methods that use the manifold say so in ``MethodSpec.needs`` / ``method_needs``: ``"tangent"`` (the
  images' tangent spaces) or ``"decoder"`` (the decoder and the images' latents); the jobs then pass a
  ``manifold.ManifoldContext``.
- **Reference maps** (``REFERENCES``): what ROAR, the sanity checks and Figure 13 compare the
  attributions with; they are not configured under ``attributions:``.

Figures, ROAR, the sanity checks, the study and the claims all name methods through this module.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from manifold_xai.attribution import plugins

if TYPE_CHECKING:
    import torch
    from torch import nn

# This module imports no torch: the Snakefile checks configs with it and the figure jobs read labels
# and colours from it. Built-in functions are named ("module:function") and imported by `resolve`.

# fn(model, x (b, c, h, w) requiring grad, target (b,) int64, params) -> attribution (b, c, h, w): the
# signature of built-ins, Captum classes and a researcher's own functions; `resolve` returns every method
# as fn(model, x, target, params, manifold) (manifold: a manifold.ManifoldBatch or None).
AttributionFn = Callable[["nn.Module", "torch.Tensor", "torch.Tensor", dict], "torch.Tensor"]


@dataclass(frozen=True)
class MethodSpec:
    """A named method: its display ``label`` and ``colour`` (matplotlib), and for a built-in attribution
    method its function (``"module:name"``, imported by ``load``) and the defaults of its parameters
    (the config schema's defaults, which a test holds equal)."""

    label: str
    colour: str | None
    function: str | None = None
    defaults: tuple[tuple[str, object], ...] = ()
    needs: tuple[str, ...] = ()  # "decoder": called with a manifold.ManifoldBatch as 5th argument

    def load(self) -> AttributionFn:
        return plugins.load_function(self.function)


BUILTIN_MODULE = "manifold_xai.attribution.builtin"
MANIFOLD_MODULE = "manifold_xai.attribution.manifold"


IG_DEFAULTS = (("steps", 50), ("method", "gausslegendre"))
BUILTIN: dict[str, MethodSpec] = {
    # The paper's hue order: Gradient blue, SmoothGrad orange, IG green, IxG red.
    "gradient": MethodSpec("Gradient", "tab:blue", f"{BUILTIN_MODULE}:gradient"),
    "integrated_gradients": MethodSpec(
        "Integrated Gradients", "tab:green", f"{BUILTIN_MODULE}:integrated_gradients", IG_DEFAULTS
    ),
    "path_averaged_gradient": MethodSpec(
        "Path-averaged gradient (IG without × input)",
        "tab:olive",
        f"{BUILTIN_MODULE}:path_averaged_gradient",
        IG_DEFAULTS,
    ),
    "input_x_gradient": MethodSpec(
        "Input × Gradient", "tab:red", f"{BUILTIN_MODULE}:input_x_gradient"
    ),
    "smoothgrad": MethodSpec(
        "SmoothGrad",
        "tab:orange",
        f"{BUILTIN_MODULE}:smoothgrad",
        (("samples", 25), ("stdev", 0.02)),
    ),
    "manifold_integrated_gradients": MethodSpec(
        "Manifold-path IG",
        "tab:pink",
        f"{MANIFOLD_MODULE}:manifold_integrated_gradients",
        IG_DEFAULTS,
        needs=("decoder",),
    ),
}
PROJECTION_KEYS = {"project", "base", "batch_size", "label", "colour"}

RANDOM_GAUSSIAN, RANDOM_TANGENT = "random_gaussian", "random_tangent"
ROAR_REFERENCES = ("tangent", "blurred_gradient", "random")
REFERENCES: dict[str, MethodSpec] = {
    RANDOM_GAUSSIAN: MethodSpec("Random N(0, I)", "gray"),
    RANDOM_TANGENT: MethodSpec("Random in tangent space", "tab:purple"),
    "tangent": MethodSpec("Tangent space", "tab:purple"),
    "blurred_gradient": MethodSpec("Blurred gradient (control)", "tab:cyan"),
    "random": MethodSpec("Random", "gray"),
    "none": MethodSpec("None removed", "black"),
}

# Keys of a method block that only the figures read (kept out of the computing jobs' params).
PRESENTATION_KEYS = ("label", "colour")
NON_METHOD_KEYS = {"batch_size", *PRESENTATION_KEYS}
PLUGIN_KEYS = {"captum", "function", "init", "attribute", "params", "batch_size", "label", "colour"}
# Colours of methods that are neither built in nor given a colour: chosen by a hash of the name, so a
# method keeps its colour across datasets and runs.
PALETTE = ("tab:brown", "tab:pink", "tab:gray", "gold", "teal", "navy", "lime", "maroon")


def _kind(name: str, block: dict) -> str:
    if "project" in block:
        return "projection"
    if "captum" in block:
        return "captum"
    if "function" in block:
        return "function"
    return "builtin" if name in BUILTIN else "unknown"


def _block_errors(name: str, block: dict) -> list[str]:
    """What is wrong with the keys of the method block ``name: block``, before resolving it."""
    kind = _kind(name, block)
    if kind == "unknown":
        return [
            f"{name!r} is not a built-in method ({', '.join(BUILTIN)}) and gives neither "
            f"'captum: <class>' nor 'function: <module:name>'"
        ]
    if name in REFERENCES:
        return [f"{name!r} is the name of a reference map; choose another name"]
    if kind == "builtin":
        unknown = sorted(set(block) - {k for k, _ in BUILTIN[name].defaults} - NON_METHOD_KEYS)
        return [f"{name!r}: unknown parameters {unknown}"] if unknown else []
    if kind == "projection":
        unknown = sorted(set(block) - PROJECTION_KEYS)
        if unknown:
            return [f"{name!r}: unknown keys {unknown} (allowed: {sorted(PROJECTION_KEYS)})"]
        if not isinstance(block["project"], str) or block["project"] == name:
            return [f"{name!r}: 'project' names another method of the block to project"]
        return []
    unknown = sorted(set(block) - PLUGIN_KEYS)
    if unknown:
        return [f"{name!r}: unknown keys {unknown} (allowed: {sorted(PLUGIN_KEYS)})"]
    if "captum" in block and "function" in block:
        return [f"{name!r}: give either 'captum' or 'function', not both"]
    if kind == "function" and ({"init", "attribute"} & set(block)):
        return [
            f"{name!r}: 'init' and 'attribute' are for Captum classes; a function gets 'params'"
        ]
    if kind == "captum" and "params" in block:
        return [f"{name!r}: a Captum class takes 'init' and 'attribute', not 'params'"]
    return []


def method_errors(
    name: str, block: dict, others: dict[str, dict] | None = None, load: bool = True
) -> list[str]:
    """What is wrong with the method block ``name: block`` among the dataset's ``others`` (the
    methods a projection may name; empty when it can run). ``load=False`` checks a Captum class or a
    researcher's function from source without importing it (``plugins.check_captum``,
    ``plugins.check_function``): the config check, which imports no torch."""
    try:
        expanded = _expanded(name, block, {**(others or {}), name: block})
        if load:
            resolve_methods({name: expanded})
        else:
            _check_statically(name, expanded)
    except ValueError as e:
        return [str(e).removeprefix("attribution method ")]
    return []


def _check_statically(name: str, block: dict) -> None:
    """``resolve_methods``'s checks of one (expanded) block, without importing what it names."""
    errors = _block_errors(name, block)
    if errors:
        raise ValueError(f"attribution method {errors[0]}")
    try:
        _check_source(name, block)
    except ValueError as e:
        raise ValueError(f"attribution method {name!r}: {e}") from e


def _check_source(name: str, block: dict) -> None:
    """The Captum class or function a block (or a projection's base) names, checked from source."""
    kind = _kind(name, block)
    if kind == "captum":
        plugins.check_captum(block["captum"])
    elif kind == "function" and isinstance(block["function"], str):
        plugins.check_function(block["function"])
    elif kind == "projection":
        _check_source(*_base(block))


def expand_projections(methods: dict[str, dict]) -> dict[str, dict]:
    """``methods`` with each projection block ``{project: base}`` completed by ``base``: the computation
    parameters of the method it projects (another block of ``methods``, or a built-in's defaults), so a
    projection's parameters say everything its result depends on. Blocks that already carry ``base`` are
    kept. ``ValueError`` for a projection of an unknown method or of another projection."""
    return {name: _expanded(name, block, methods) for name, block in methods.items()}


def _expanded(name: str, block: dict, methods: dict[str, dict]) -> dict:
    """One block of ``expand_projections``."""
    if _kind(name, block) != "projection" or "base" in block:
        return block
    base = block["project"]
    if not isinstance(base, str) or base == name:
        raise ValueError(
            f"attribution method {name!r}: 'project' names another method of the block to project"
        )
    if base not in methods and base not in BUILTIN:
        raise ValueError(
            f"attribution method {name!r}: projects {base!r}, which is neither a method of the "
            f"block ({', '.join(m for m in methods if m != name)}) nor a built-in"
        )
    base_block = methods.get(base, {})
    if _kind(base, base_block) == "projection":
        raise ValueError(
            f"attribution method {name!r}: projects {base!r}, itself a projection (project "
            f"its base instead: a projection is idempotent)"
        )
    params = computation_params(base_block, base)
    params.pop("batch_size", None)
    return {**block, "base": {"name": base, **params}}


def _base(block: dict) -> tuple[str, dict]:
    """A projection's base method: its name and parameters."""
    params = dict(block["base"])
    return params.pop("name"), params


def method_needs(name: str, block: dict) -> set[str]:
    """What the method needs of the manifold: ``"tangent"``, ``"decoder"`` (an expanded block)."""
    kind = _kind(name, block)
    if kind == "projection":
        return {"tangent"} | method_needs(*_base(block))
    return set(BUILTIN[name].needs) if kind == "builtin" else set()


def resolve_methods(methods: dict[str, dict]) -> dict[str, AttributionFn]:
    """The attribution function of each (expanded) method block, each resolved (imported) once, as
    ``fn(model, x, target, params, manifold)``; ``ValueError`` naming the first block that cannot run."""
    functions = {}
    for name, block in methods.items():
        errors = _block_errors(name, block)
        if not errors:
            try:
                functions[name] = resolve(name, block)
            except ValueError as e:
                errors = [f"{name!r}: {e}"]
        if errors:
            raise ValueError(f"attribution method {errors[0]}")
    return functions


def resolve(name: str, block: dict) -> AttributionFn:
    """The function of the (expanded) method block ``name: block``, with the signature
    ``fn(model, x, target, params, manifold)``: ``manifold`` is a ``manifold.ManifoldBatch`` for the
    methods that need one (``method_needs``), ignored by the others."""
    kind = _kind(name, block)
    if kind == "projection":
        if "base" not in block:
            raise ValueError("a projection block must be expanded first (expand_projections)")
        base_fn = resolve(*_base(block))

        def projection(model, x, target, params, manifold_batch):
            return manifold_batch.project(
                base_fn(model, x, target, _base(params)[1], manifold_batch)
            )

        return projection
    if kind == "captum":
        return _plain(plugins.captum_method(block["captum"]))
    if kind == "function":
        return _plain(plugins.custom_method(block["function"]))
    if kind == "builtin":
        spec = BUILTIN[name]
        return spec.load() if spec.needs else _plain(spec.load())
    raise ValueError(f"unknown attribution method {name!r}; known: {sorted(BUILTIN)}")


def _plain(fn: AttributionFn):
    """``fn(model, x, target, params)`` as a function that also takes (and ignores) the manifold."""

    def call(model, x, target, params, _manifold=None):
        return fn(model, x, target, params)

    return call


def computation_params(block: dict, name: str | None = None) -> dict:
    """A method block without its presentation keys (what the computing jobs depend on); given the
    ``name`` of a built-in, with its defaults for the parameters the block leaves out."""
    defaults = (
        dict(BUILTIN[name].defaults) if name in BUILTIN and _kind(name, block) == "builtin" else {}
    )
    return {**defaults, **{k: v for k, v in block.items() if k not in PRESENTATION_KEYS}}


def style(name: str, block: dict | None = None) -> dict[str, str]:
    """``{"label", "colour"}`` of a method: the block's own, else the registry's, else derived from
    the name (Captum methods are labelled by their class)."""
    block = block or {}
    spec = BUILTIN.get(name) or REFERENCES.get(name)
    label = block.get("label") or (spec.label if spec else None)
    if label is None and isinstance(block.get("project"), str):
        label = f"{style(block['project'])['label']} projected on T"
    if label is None:
        label = block.get("captum") or name.replace("_", " ").capitalize()
    colour = block.get("colour") or (spec.colour if spec else None)
    if colour is None:
        colour = PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]
    return {"label": label, "colour": colour}


def styles(blocks: dict[str, dict] | None = None) -> dict[str, dict[str, str]]:
    """The style of every reference map and built-in method, and of each method in ``blocks``."""
    names = {**dict.fromkeys(REFERENCES), **dict.fromkeys(BUILTIN), **(blocks or {})}
    return {name: style(name, (blocks or {}).get(name)) for name in names}


def method_files(blocks: dict[str, dict]) -> list[str]:
    """The Python files of the ``function:`` methods given by path (inputs of the attribution jobs)."""
    files = [plugins.function_file(b["function"]) for b in blocks.values() if "function" in b]
    return [str(f) for f in files if f is not None]
