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


def resolve(raw: dict | None, *, role: Role, job_id: uuid.UUID | None) -> GenerationParams:
    """The full parameter set of a new job; Refused (403 or 400, naming the field) otherwise. Without a
    `job_id` (the API's edge, before the job exists) an unpinned seed stays None: job_submit gives the
    job its own (with_seed)."""
    raw = raw or {}
    refused = refused_for(role, raw) if isinstance(raw, dict) else []
    if refused:
        message = f"Only staff and operators can set generation parameters ({', '.join(refused)})."
        raise Refused(403, "params_staff_only", message, field=refused[0])
    try:
        params = GenerationParams.parse(raw, defaults=defaults_for(role))
    except ParamError as error:
        raise Refused(400, error.code, error.message, field=error.field) from None
    return params if job_id is None else with_seed(params, job_id=job_id)


def with_seed(params: GenerationParams, *, job_id: uuid.UUID) -> GenerationParams:
    """The parameters as they are when their seed is pinned; else with the job's own seed. Not validated
    again: the rest was, and _seed_of is within the catalogue's bounds by construction."""
    return params if params.seed is not None else params.model_copy(update={"seed": _seed_of(job_id)})


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
    """What a job paints with: its row as stored, resolved and validated once at submit (rows from before
    were upgraded by migration 0010), so read back without validating again. ParamError if the row is not
    a complete parameter set (a field or the seed missing): that job fails alone."""
    stored = job.params if isinstance(job.params, dict) else {}
    missing = [name for name in GenerationParams.model_fields if name not in stored]
    if missing or stored.get("seed") is None:
        raise ParamError(missing[0] if missing else "seed", "is missing from the job's resolved parameters")
    return GenerationParams.model_construct(**{name: stored[name] for name in GenerationParams.model_fields})


def _seed_of(job_id: uuid.UUID) -> int:
    """A seed of the job's own, stable: the one every job without a pinned seed has always had."""
    return job_id.int % (MAX_SEED + 1)
