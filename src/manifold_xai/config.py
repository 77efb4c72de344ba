"""Configuration: load the experiment, validate it against the JSON Schema, fill defaults, and run the
cross-field checks (``config_checks``); the facts the rest of the project reads are ``config_facts``.

``validate_config(config, schema_path)`` returns the config with every default filled in, or raises
``ConfigError`` whose message names each offending key as a dotted path (``datasets.digits.manifold.latent_dim``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import yaml

from manifold_xai.config_checks import cross_field_errors, external_regimes

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


def merge_configs(configs: list[dict]) -> dict:
    """Config files merged key by key, later ones winning, as Snakemake merges ``--configfile``s."""
    merged: dict = {}
    for config in configs:
        merged = _deep_update(merged, copy.deepcopy(config))
    return merged


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
        external_regimes(config)
        messages = cross_field_errors(config)
    if messages:
        messages = list(dict.fromkeys(messages))
        if len(messages) == 1:  # one problem: one line
            raise ConfigError(f"invalid config: {messages[0]}")
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(messages))
    return config
