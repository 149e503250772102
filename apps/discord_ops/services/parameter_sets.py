"""Operators' parameter sets: every change a new version, validated by the catalogue as a whole."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.discord_ops import selectors, sweeps
from apps.discord_ops.errors import OpsError, quoted
from apps.discord_ops.models import ParameterSet
from inference.models.presets import default_params
from inference.params import SPECS, GenerationParams, ParamError

WORKING_SET = "working"
PRODUCTION_MODE = "production_mode"
MAX_VALUE_CHARACTERS = 40  # longer is no number: refused before parsing, and never echoed whole


def defaults_in_use() -> GenerationParams:
    """The models' own defaults (the folder in use, or the tiny preset): what a set is checked against."""
    return default_params(settings.NARCIS_MODELS_DIR)


def parse_value(name: str, text) -> bool | int | float:
    """An operator's typed value, as the catalogue's type for `name` (or production_mode's bool)."""
    kind = "bool" if name == PRODUCTION_MODE else SPECS[name].type
    if not isinstance(text, str):
        return text
    if len(text) > MAX_VALUE_CHARACTERS:
        raise OpsError(f"{name}: a value is at most {MAX_VALUE_CHARACTERS} characters (got {len(text)}).")
    word = text.strip().lower()
    try:
        if kind == "bool":
            if word not in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
                raise ValueError
            return word in {"true", "yes", "on", "1"}
        return int(word) if kind == "int" else float(word)
    except ValueError:
        wanted = {"bool": "true or false", "int": "a whole number", "float": "a number"}[kind]
        raise OpsError(f"{name} must be {wanted} (got {quoted(text)}).") from None


def params_set(*, owner, name: str, value, set_name: str = WORKING_SET) -> ParameterSet:
    """Set one parameter in the owner's set: a new version, validated by the catalogue as a whole
    (so start_merge_step is held to steps)."""
    if name != PRODUCTION_MODE and name not in SPECS:
        raise OpsError(sweeps.unknown_parameter(name))
    current = selectors.current_set(owner, set_name)
    values, production_mode = (
        dict(current.values if current else {}),
        bool(current and current.production_mode),
    )
    parsed = parse_value(name, value)
    if name == PRODUCTION_MODE:
        production_mode = parsed
    else:
        values[name] = parsed
        try:
            GenerationParams.parse(values, defaults=defaults_in_use())
        except ParamError as error:
            raise OpsError(error.message) from None
    return _new_version(owner, set_name, values, production_mode)


def params_reset(*, owner, name: str | None = None, set_name: str = WORKING_SET) -> ParameterSet:
    """Back to the defaults: one parameter, or all of them (production mode off)."""
    current = selectors.current_set(owner, set_name)
    values = dict(current.values if current else {})
    production_mode = bool(current and current.production_mode)
    if name is None:
        values, production_mode = {}, False
    elif name == PRODUCTION_MODE:
        production_mode = False
    elif name in SPECS:
        values.pop(name, None)
    else:
        raise OpsError(sweeps.unknown_parameter(name))
    return _new_version(owner, set_name, values, production_mode)


def _new_version(owner, set_name: str, values: dict, production_mode: bool) -> ParameterSet:
    for _ in range(3):  # two edits at once: the second retries on the next version number
        latest = selectors.current_set(owner, set_name)
        try:
            with transaction.atomic():
                return ParameterSet.objects.create(
                    owner=owner,
                    name=set_name,
                    version=(latest.version + 1) if latest else 1,
                    values=values,
                    production_mode=production_mode,
                )
        except IntegrityError:
            continue
    raise OpsError("The parameter set changed under you several times; try again.")
