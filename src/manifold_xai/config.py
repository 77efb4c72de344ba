"""Configuration: validate against the JSON Schema, fill defaults, check cross-field constraints.

``validate_config(config, schema_path)`` returns the config with every default filled in, or raises
``ConfigError`` whose message names each offending key as a dotted path (``datasets.digits.manifold.latent_dim``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

# Image channels per source kind, for checks that need the image dimension d = c · s².
SOURCE_CHANNELS = {"digits": 1, "mnist": 1, "emnist": 1, "cifar10": 3}


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
        if error.schema.get("patternProperties"):
            return [
                f"invalid name {k!r} at {where} (letters, digits and _, starting with a letter)"
                for k in extra
            ]
        return [
            f"unknown key {_dotted([*error.absolute_path, k])!r} (allowed: {sorted(allowed)})"
            for k in extra
        ]
    if error.validator == "oneOf" and error.context:
        # Report the branch that came closest (e.g. the source block whose `kind` matched).
        best = jsonschema.exceptions.best_match(error.context)
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


def load_experiment(given: dict, default_path: str | Path) -> dict:
    """The experiment to run: ``given`` (from ``--configfile``/``--config``) when it defines
    ``datasets``; otherwise the default experiment at ``default_path`` with ``given`` laid over it
    (so ``--config seeds=[3]`` changes the default experiment's seeds)."""
    if "datasets" in given:
        return copy.deepcopy(given)
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
        messages = _cross_field_errors(config)
    if messages:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(dict.fromkeys(messages)))
    return config


def _cross_field_errors(config: dict) -> list[str]:
    errors = []
    for name, ds in config["datasets"].items():
        source = ds["source"]
        d = SOURCE_CHANNELS[source["kind"]] * source["image_size"] ** 2
        k = ds["manifold"]["latent_dim"]
        if k >= d:
            errors.append(
                f"datasets.{name}.manifold.latent_dim: {k} must be smaller than the image dimension {d}"
            )
        if source["image_size"] < 8 or source["image_size"] & (source["image_size"] - 1):
            errors.append(
                f"datasets.{name}.source.image_size: the Burgess VAE needs a power of two >= 8"
            )
        unknown = [m for m in ds["evaluation"]["curves"]["methods"] if m not in ds["attributions"]]
        if unknown:
            errors.append(
                f"datasets.{name}.evaluation.curves.methods: {unknown} are not configured under "
                f"datasets.{name}.attributions ({sorted(ds['attributions'])})"
            )
        if ds["classifier"]["arch"] == "lenet" and source["image_size"] < 6:
            errors.append(
                f"datasets.{name}.source.image_size: lenet needs images of at least 6 pixels"
            )
    return errors
