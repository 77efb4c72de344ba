"""Configuration: validate against the JSON Schema, fill defaults, check cross-field constraints.

``validate_config(config, schema_path)`` returns the config with every default filled in, or raises
``ConfigError`` whose message names each offending key as a dotted path (``datasets.digits.manifold.latent_dim``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import yaml

from manifold_xai.shapes import (
    MIN_IMAGE_SIZE,
    SOURCE_CHANNELS,
    TORUS_PARAMS,
    autoencoder_latent_shape,
)

# Facts of the sources and models live in shapes.py (torch-free); config.py only reads them.


class ConfigError(ValueError):
    """A config that cannot run; the message names the keys."""


def _with_defaults(validator_class):
    """A validator class that fills ``default`` values of missing properties while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


DefaultFillingValidator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> list[str]:
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        patterns = error.schema.get("patternProperties")
        if patterns:
            # Only the names that match no pattern are invalid (the valid ones are in the instance too).
            bad = [k for k in extra if not any(re.search(p, k) for p in patterns)]
            return [
                f"invalid name {k!r} at {where} (letters, digits and _, starting with a letter)"
                for k in bad
            ]
        return [
            f"unknown key {_dotted([*error.absolute_path, k])!r} (allowed: {sorted(allowed)})"
            for k in extra
        ]
    if error.validator == "oneOf" and error.context:
        # Report the branch that came closest (e.g. the source block whose `kind` matched).
        # A block that may be null (`roar: null`) and is given: the object branch's errors say what is wrong.
        context = [
            e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
        ]
        best = jsonschema.exceptions.best_match(context or error.context)
        return _describe(best)
    if error.validator == "required":
        return [f"missing key at {where}: {error.message}"]
    return [f"{where}: {error.message}"]


def canonical(value):
    """``value`` with every dict's keys sorted, recursively: Snakemake compares params by ``repr``,
    so two configs that differ only in key order must give identical params."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def _deep_update(base: dict, overlay: dict) -> dict:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def typed_command_line(values):
    """``--config`` values with YAML's types: Snakemake parses a value such as ``[0,1,2]`` with YAML's
    base loader, so every scalar inside it arrives as a string (``['0', '1', '2']``); a string that
    YAML reads as a number, a boolean or null becomes one. Other strings stay strings."""
    if isinstance(values, dict):
        return {key: typed_command_line(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return [typed_command_line(value) for value in values]
    if isinstance(values, str):
        try:
            parsed = yaml.safe_load(values)
        except yaml.YAMLError:
            return values
        return parsed if parsed is None or isinstance(parsed, bool | int | float) else values
    return values


def load_experiment(
    given: dict, default_path: str | Path, command_line: dict | None = None
) -> dict:
    """The experiment to run.

    ``given`` is what ``--configfile`` files and ``--config`` set (Snakemake merges them key by key);
    ``command_line`` the ``--config`` values alone, re-read with YAML's types (``typed_command_line``).
    Unless ``given`` says ``standalone: true``, it is laid over the default experiment at
    ``default_path`` key by key, so a file with one nested key changes only that key. A standalone
    config is a whole experiment: the default config is not read and its datasets do not run."""
    given = _deep_update(copy.deepcopy(dict(given)), typed_command_line(dict(command_line or {})))
    if given.get("standalone"):
        return given
    path = Path(default_path)
    if not path.is_file():
        raise ConfigError(f"no config given and the default config {path} does not exist")
    try:
        default = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from e
    return _deep_update(default, given)


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validated copy of ``config`` with defaults filled; raises ``ConfigError`` naming every bad key."""
    config = copy.deepcopy(config)
    validator = DefaultFillingValidator(load_schema(schema_path))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = [m for e in errors for m in _describe(e)]
    if not messages:
        _external_regimes(config)
        messages = _cross_field_errors(config)
    if messages:
        messages = list(dict.fromkeys(messages))
        if len(messages) == 1:  # one problem: one line
            raise ConfigError(f"invalid config: {messages[0]}")
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(messages))
    return config


def image_shape(config: dict, name: str) -> tuple[int, int, int] | None:
    """``(channels, height, width)`` of dataset ``name``'s images, or None when only the files tell
    (an image folder without ``image_size``)."""
    ds = config["datasets"][name]
    if ds["approach"] == "upsampled":
        base = image_shape(config, ds["upsample"]["base"])
        size = ds["upsample"]["image_size"]
        return None if base is None else (base[0], size, size)
    source = ds["source"]
    if source["kind"] == "image_folder":
        if source["image_size"] is None:
            return None
        return (1 if source["color"] == "gray" else 3, *source["image_size"])
    return (SOURCE_CHANNELS[source["kind"]], source["image_size"], source["image_size"])


def latent_dim(config: dict, name: str) -> int | None:
    """k of dataset ``name``'s manifold model (None when the image size is only known from the files)."""
    ds = config["datasets"][name]
    if ds["approach"] == "upsampled":
        return latent_dim(config, ds["upsample"]["base"])
    if ds["approach"] == "analytic":
        return TORUS_PARAMS
    m = ds["manifold"]
    if m["model"] in ("btcvae", "external"):
        return m["latent_dim"]
    shape = image_shape(config, name)
    if shape is None:
        return None
    c, h, w = autoencoder_latent_shape(shape[1:], m["latent_channels"], m["stride"])
    return c * h * w


def dataset_seeds(config: dict, name: str) -> list[int]:
    return config["datasets"][name]["seeds"] or config["seeds"]


def own_tangent_source(config: dict, name: str) -> str:
    """The tangent source of the dataset's own manifold (``tangent.zarr``): the renderer's exact Jacobian
    for an analytic dataset, the decoder's (``vae``) otherwise."""
    return "exact" if config["datasets"][name]["approach"] == "analytic" else "vae"


def tangent_sources(config: dict, name: str) -> list[str]:
    """The dataset's tangent sources, its own first, then the others in config order."""
    own = own_tangent_source(config, name)
    listed = config["datasets"][name]["tangent_sources"]["sources"] or []
    return [own] + [s for s in listed if s != own]


def local_pca_k(config: dict, name: str) -> int | None:
    """k of the dataset's local-PCA tangent spaces: configured, or the dataset's own manifold's k."""
    return config["datasets"][name]["tangent_sources"]["local_pca"]["k"] or latent_dim(config, name)


def evaluation_seeds(config: dict, name: str, block: str) -> list[int]:
    """The seeds of dataset ``name`` that run the ``roar`` or ``sanity`` block (default: the first)."""
    return config["datasets"][name][block]["seeds"] or dataset_seeds(config, name)[:1]


def _evaluation_errors(config: dict, name: str) -> list[str]:
    ds, at, errors = config["datasets"][name], f"datasets.{name}", []
    for block in ("roar", "sanity"):
        if ds[block] is None:
            continue
        if ds["classifier"]["external"] is not None:
            errors.append(
                f"{at}.{block}: retrains or randomises classifiers the pipeline trains; "
                f"{at}.classifier.external is set (remove {block}, or the external classifier)"
            )
        elif "standard" not in ds["classifier"]["regimes"]:
            errors.append(f"{at}.{block}: needs the standard regime in classifier.regimes")
        extra = sorted(
            set(evaluation_seeds(config, name, block)) - set(dataset_seeds(config, name))
        )
        if extra:
            errors.append(f"{at}.{block}.seeds: {extra} are not seeds of {name!r}")
    if ds["roar"] is not None:
        from manifold_xai.attribution.registry import ROAR_REFERENCES

        unknown = [
            m
            for m in ds["roar"]["methods"]
            if m not in ds["attributions"] and m not in ROAR_REFERENCES
        ]
        if unknown:
            errors.append(
                f"{at}.roar.methods: {unknown} are neither configured under {at}.attributions "
                f"({sorted(ds['attributions'])}) nor one of {list(ROAR_REFERENCES)}"
            )
    return errors


def _attribution_errors(config: dict, name: str) -> list[str]:
    """Each method block that cannot run (unknown name, Captum class, import path, parameters), checked
    without importing torch, Captum or a researcher's module (``registry.method_errors(load=False)``)."""
    from manifold_xai.attribution.registry import method_errors

    at = f"datasets.{name}.attributions"
    blocks = config["datasets"][name]["attributions"]
    return [
        f"{at}.{method}: {error}"
        for method, block in blocks.items()
        for error in method_errors(method, block, blocks, load=False)
    ]


def _study_errors(config: dict) -> list[str]:
    study, errors = config.get("study"), []
    if study is None:
        return errors
    names = [t["name"] for t in study["tasks"]]
    if len(set(names)) < len(names):
        errors.append(f"study.tasks: task names must be unique, got {names}")
    for i, task in enumerate(study["tasks"]):
        at, ds = f"study.tasks.{i}", config["datasets"].get(task["dataset"])
        if ds is None:
            errors.append(
                f"{at}.dataset: no dataset {task['dataset']!r} in this config ({sorted(config['datasets'])})"
            )
            continue
        if "standard" not in ds["classifier"]["regimes"]:
            errors.append(f"{at}.dataset: {task['dataset']!r} does not run the standard regime")
        needed = {
            "tangent_vs_orthogonal": ["gradient"],
            "method_pairs": task["methods"],
            "fixed_pair": [task["method_a"], task["method_b"]],
        }[task["protocol"]]
        missing = [m for m in needed if m not in ds["attributions"]]
        if missing:
            errors.append(
                f"{at}: methods {missing} are not configured under datasets.{task['dataset']}.attributions"
            )
    return errors


def _external_regimes(config: dict) -> None:
    """A dataset whose classifier is given (``classifier.external``) has the one regime ``external``:
    nothing is trained, so the training regimes are absent."""
    for ds in config["datasets"].values():
        if ds["classifier"]["external"] is not None:
            ds["classifier"]["regimes"] = ["external"]


def _cross_field_errors(config: dict) -> list[str]:
    errors = _study_errors(config)
    for name, ds in config["datasets"].items():
        at = f"datasets.{name}"
        if ds["approach"] == "upsampled":
            errors += _upsample_errors(config, name)
            if errors:
                continue
        elif ds["approach"] == "analytic":
            errors += _analytic_errors(config, name)
        else:
            errors += _manifold_errors(config, name)
        errors += _tangent_source_errors(config, name) + _evaluation_errors(config, name)
        errors += _attribution_errors(config, name)
        shape, k = image_shape(config, name), latent_dim(config, name)
        d = None if shape is None else shape[0] * shape[1] * shape[2]
        if d is not None and k is not None and k >= d:
            key = (
                "latent_dim"
                if ds["approach"] == "upsampled" or ds["manifold"]["model"] != "autoencoder"
                else "latent_channels"
            )
            errors.append(
                f"{at}.manifold.{key}: {k} must be smaller than the image dimension {d} "
                f"(latent dimension k; images {shape})"
            )
        trained = ds["classifier"]["external"] is None  # else no checkpoints: no training curves
        unknown = [m for m in ds["evaluation"]["curves"]["methods"] if m not in ds["attributions"]]
        if trained and unknown:
            errors.append(
                f"{at}.evaluation.curves.methods: {unknown} are not configured under "
                f"{at}.attributions ({sorted(ds['attributions'])})"
            )
        n_eval, n_curves = ds["evaluation"]["n_test"], ds["evaluation"]["curves"]["n_test"]
        if trained and n_eval is not None and n_curves > n_eval:
            errors.append(
                f"{at}.evaluation.curves.n_test: {n_curves} exceeds evaluation.n_test {n_eval} "
                f"(the curves project onto the stored tangent spaces)"
            )
        clf = ds["classifier"]
        if "external" in clf["regimes"] and clf["external"] is None:
            errors.append(
                f"{at}.classifier.regimes: 'external' is the regime of a classifier given under "
                f"{at}.classifier.external, which is not set"
            )
        if clf["external"] is not None:
            continue  # nothing is trained: the architecture keys do not apply
        if shape is not None and min(shape[1:]) < MIN_IMAGE_SIZE[clf["arch"]]:
            errors.append(
                f"{at}.classifier.arch: {clf['arch']} needs images of at least "
                f"{MIN_IMAGE_SIZE[clf['arch']]} pixels, the images are {shape[1]}x{shape[2]}"
            )
        if clf["pretrained"] and (
            clf["arch"] != "resnet18" or (shape is not None and shape[0] != 3)
        ):
            errors.append(
                f"{at}.classifier.pretrained: ImageNet weights exist for resnet18 on 3-channel "
                f"images only (arch {clf['arch']}, images {shape})"
            )
    return errors


def _manifold_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    m, shape = ds["manifold"], image_shape(config, name)
    errors = []
    if ds["approach"] == "generative" and m["model"] == "autoencoder":
        errors.append(
            f"{at}.manifold.model: the generative approach samples from a VAE prior; use btcvae "
            f"(or your own decoder: model external)"
        )
    if m["model"] == "btcvae" and shape is not None:
        side = shape[1]
        if shape[1] != shape[2] or side < 8 or side & (side - 1):
            errors.append(
                f"{at}.source.image_size: the Burgess VAE needs square images with a power-of-two "
                f"side >= 8, got {shape[1]}x{shape[2]}"
            )
    if (
        m["model"] == "autoencoder"
        and shape is not None
        and (shape[1] % m["stride"] or shape[2] % m["stride"])
    ):
        errors.append(
            f"{at}.manifold.stride: the image size {shape[1]}x{shape[2]} is not divisible by "
            f"the autoencoder stride {m['stride']}"
        )
    return errors


def _analytic_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    if ds["source"]["kind"] != "torus":
        return [
            f"{at}.approach: analytic needs a source on a known manifold (kind torus), "
            f"got kind {ds['source']['kind']!r}"
        ]
    # The β-TCVAE of the `vae` tangent source is trained on the rendered images.
    return _manifold_errors(config, name) if "vae" in tangent_sources(config, name) else []


def _tangent_source_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}.tangent_sources"
    sources, errors = tangent_sources(config, name), []
    if "exact" in sources and ds["approach"] != "analytic":
        errors.append(
            f"{at}.sources: exact tangent spaces exist only for the analytic approach "
            f"(a torus source); {name!r} is {ds['approach']}"
        )
    if "vae" in sources and ds["approach"] == "analytic" and ds["manifold"]["model"] != "btcvae":
        errors.append(
            f"{at}.sources: the vae source of an analytic dataset is a β-TCVAE (manifold.model btcvae)"
        )
    if "local_pca" in sources:
        k, neighbours = local_pca_k(config, name), ds["tangent_sources"]["local_pca"]["neighbours"]
        shape = image_shape(config, name)
        if k is not None and neighbours < k:
            errors.append(
                f"{at}.local_pca.neighbours: {neighbours} neighbours cannot span k = {k} directions"
            )
        if k is not None and shape is not None and k >= shape[0] * shape[1] * shape[2]:
            errors.append(f"{at}.local_pca.k: {k} must be smaller than the image dimension")
    if "denoiser" in sources:
        errors += _denoiser_errors(ds["tangent_sources"]["denoiser"], image_shape(config, name), at)
    return errors


def _denoiser_errors(p: dict, shape, at: str) -> list[str]:
    errors = []
    if p["sigma_min"] > p["sigma_max"]:
        errors.append(
            f"{at}.denoiser.sigma_min: {p['sigma_min']} is above sigma_max {p['sigma_max']}"
        )
    elif not p["sigma_min"] <= p["sigma"] <= p["sigma_max"]:
        errors.append(
            f"{at}.denoiser.sigma: {p['sigma']} lies outside the training noise levels "
            f"[{p['sigma_min']}, {p['sigma_max']}]"
        )
    if p["k"] != "auto" and p["k"] > p["max_k"]:
        errors.append(f"{at}.denoiser.k: {p['k']} is above max_k {p['max_k']}")
    if shape is not None:
        if shape[1] % 4 or shape[2] % 4:
            errors.append(
                f"{at}.denoiser: the denoiser needs image sides that are multiples of 4, "
                f"got {shape[1]}×{shape[2]}"
            )
        if p["max_k"] + p["oversample"] > shape[0] * shape[1] * shape[2]:
            errors.append(
                f"{at}.denoiser.max_k: max_k + oversample = {p['max_k'] + p['oversample']} "
                f"exceeds the image dimension"
            )
    return errors


def _upsample_errors(config: dict, name: str) -> list[str]:
    ds, at = config["datasets"][name], f"datasets.{name}"
    base = ds["upsample"]["base"]
    if base not in config["datasets"]:
        return [
            f"{at}.upsample.base: no dataset {base!r} in this config ({sorted(config['datasets'])})"
        ]
    if config["datasets"][base]["approach"] != "generative":
        return [f"{at}.upsample.base: {base!r} must use the generative approach"]
    missing = sorted(set(dataset_seeds(config, name)) - set(dataset_seeds(config, base)))
    if missing:
        return [f"{at}.seeds: seeds {missing} are not seeds of the base dataset {base!r}"]
    base_side = image_shape(config, base)[1]
    if ds["upsample"]["image_size"] <= base_side:
        return [
            f"{at}.upsample.image_size: {ds['upsample']['image_size']} must exceed {base!r}'s {base_side}"
        ]
    return []
