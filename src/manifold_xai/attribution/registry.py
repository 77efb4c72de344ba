"""The one registry of methods: every map the pipeline computes, compares or draws, by name
(docs/methods.md).

- **Attribution methods** (a dataset's ``attributions:`` block, computed by rule
  ``compute_attributions``): the built-ins (``BUILTIN``), any Captum attribution class
  (``{captum: DeepLift, init: {…}, attribute: {…}}``) and a researcher's own function
  (``{function: "module:name", params: {…}}``; see ``plugins``). Every block may set ``label`` and
  ``colour`` (figures only: changing them re-runs no computation) and ``batch_size``.
- **Reference maps** (``REFERENCES``): what ROAR, the sanity checks and Figure 13 compare the
  attributions with; they are not configured under ``attributions:``.

Figures, ROAR, the sanity checks, the study and the claims all name methods through this module.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from manifold_xai.attribution import builtin, plugins

# fn(model, x (b, c, h, w) requiring grad, target (b,) int64, params) -> attribution (b, c, h, w)
AttributionFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, dict], torch.Tensor]


@dataclass(frozen=True)
class MethodSpec:
    """A named method: its display ``label`` and ``colour`` (matplotlib), and for a built-in attribution
    method its function and the defaults of its parameters (the config schema's defaults, which a test
    holds equal)."""

    label: str
    colour: str | None
    compute: AttributionFn | None = None
    defaults: tuple[tuple[str, object], ...] = ()


IG_DEFAULTS = (("steps", 50), ("method", "gausslegendre"))
BUILTIN: dict[str, MethodSpec] = {
    # The paper's hue order: Gradient blue, SmoothGrad orange, IG green, IxG red.
    "gradient": MethodSpec("Gradient", "tab:blue", builtin.gradient),
    "integrated_gradients": MethodSpec(
        "Integrated Gradients", "tab:green", builtin.integrated_gradients, IG_DEFAULTS
    ),
    "path_averaged_gradient": MethodSpec(
        "Path-averaged gradient (IG without × input)",
        "tab:olive",
        builtin.path_averaged_gradient,
        IG_DEFAULTS,
    ),
    "input_x_gradient": MethodSpec("Input × Gradient", "tab:red", builtin.input_x_gradient),
    "smoothgrad": MethodSpec(
        "SmoothGrad", "tab:orange", builtin.smoothgrad, (("samples", 25), ("stdev", 0.02))
    ),
}

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


def method_errors(name: str, block: dict) -> list[str]:
    """What is wrong with the method block ``name: block`` (empty when it can run)."""
    try:
        resolve_methods({name: block})
    except ValueError as e:
        return [str(e).removeprefix("attribution method ")]
    return []


def resolve_methods(methods: dict[str, dict]) -> dict[str, AttributionFn]:
    """The attribution function of each method block, each resolved (imported) once; ``ValueError``
    naming the first block that cannot run."""
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
    """The attribution function of the method block ``name: block``."""
    kind = _kind(name, block)
    if kind == "captum":
        return plugins.captum_method(block["captum"])
    if kind == "function":
        return plugins.custom_method(block["function"])
    if kind == "builtin":
        return BUILTIN[name].compute
    raise ValueError(f"unknown attribution method {name!r}; known: {sorted(BUILTIN)}")


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
