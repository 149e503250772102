"""A job's generation parameters: resolved once at submit, read back as they were stored.

At submit the caller's fields go over the defaults of the models the workers run (the tiny preset's
or the catalogue's, from NARCIS_MODELS_DIR), and the seed is chosen: the row says exactly what will
run, and no worker default can change a queued job.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings

from apps.generation.errors import Refused
from inference.models.presets import default_params
from inference.params import MAX_SEED, GenerationParams, ParamError, Role, refused_for


def resolve(raw: dict | None, *, role: Role, job_id: uuid.UUID) -> GenerationParams:
    """The full parameter set of a new job; Refused (403 or 400, naming the field) otherwise."""
    raw = raw or {}
    refused = refused_for(role, raw) if isinstance(raw, dict) else []
    if refused:
        message = f"Only staff and operators can set generation parameters ({', '.join(refused)})."
        raise Refused(403, "params_staff_only", message, field=refused[0])
    try:
        params = GenerationParams.parse(raw, defaults=defaults_for(role))
    except ParamError as error:
        raise Refused(400, error.code, error.message, field=error.field) from None
    if params.seed is None:
        params = params.replace(seed=_seed_of(job_id))
    return params


# Apps above this one may provide the visitors' defaults (discord_ops: a parameter set staff promoted).
# A provider returns the parameters that differ from the models' defaults, or {}.
_visitor_defaults_provider: Callable[[], dict] | None = None


def provide_visitor_defaults(provider: Callable[[], dict] | None) -> None:
    global _visitor_defaults_provider
    _visitor_defaults_provider = provider


def defaults_for(role: Role) -> GenerationParams:
    """The models' defaults; for visitors, with the promoted visitor defaults over them (if valid)."""
    base = default_params(settings.NARCIS_MODELS_DIR)
    if role != Role.VISITOR or _visitor_defaults_provider is None:
        return base
    try:
        return GenerationParams.parse(_visitor_defaults_provider(), defaults=base)
    except ParamError:  # promoted for other models, say: the visitors keep the models' own defaults
        return base


def params_of(job) -> GenerationParams:
    """What a job paints with: its row, merged with nothing (ParamError if the row is not valid).

    Rows queued before the catalogue stored only the fields staff set, never a seed; they run as
    the worker ran them then: those fields over the models' defaults, the seed from the job's id.
    """
    if "seed" in job.params:
        return GenerationParams.parse(job.params)
    params = GenerationParams.parse(job.params, defaults=default_params(settings.NARCIS_MODELS_DIR))
    return params.replace(seed=_seed_of(uuid.UUID(str(job.id))))


def _seed_of(job_id: uuid.UUID) -> int:
    """A seed of the job's own, stable: the one every job without a pinned seed has always had."""
    return job_id.int % (MAX_SEED + 1)
