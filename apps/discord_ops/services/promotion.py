"""The visitors' defaults: a parameter set promoted by staff, with rollback."""

from __future__ import annotations

import logging

from apps.discord_ops.errors import OpsError
from apps.discord_ops.models import ParameterSet, VisitorDefaults
from apps.discord_ops.services.parameter_sets import defaults_in_use
from inference.params import GenerationParams, ParamError

logger = logging.getLogger("narcis.ops")

PROMOTE_PERMISSION = "discord_ops.promote_parameterset"


def _check_promoter(actor) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(PROMOTE_PERMISSION)):
        raise OpsError(
            "Only staff with the 'promote a parameter set' permission can change visitors' defaults."
        )


def visitor_defaults_promote(*, parameter_set: ParameterSet, actor, note: str = "") -> VisitorDefaults:
    """Visitors' portraits are painted with this set from now on; the set in force before stays listed,
    for rollback (which promotes it again). Staff with the dedicated permission only."""
    _check_promoter(actor)
    try:
        GenerationParams.parse(parameter_set.values, defaults=defaults_in_use())
    except ParamError as error:
        raise OpsError(f"{parameter_set} is not valid for the models in use: {error.message}") from None
    promotion = VisitorDefaults.objects.create(
        parameter_set=parameter_set, promoted_by=actor, note=note[:200]
    )
    logger.info("visitor defaults promoted", extra={"parameter_set": parameter_set.pk, "actor_id": actor.pk})
    return promotion


def visitor_defaults_rollback(*, actor) -> VisitorDefaults | None:
    """Back to the set in force before the current one (None: back to the models' own defaults)."""
    _check_promoter(actor)
    history = list(VisitorDefaults.objects.all()[:2])
    if not history:
        raise OpsError("Visitors already use the models' own defaults.")
    if len(history) == 1:
        history[0].delete()
        logger.info("visitor defaults rolled back to the models' own", extra={"actor_id": actor.pk})
        return None
    return visitor_defaults_promote(parameter_set=history[1].parameter_set, actor=actor, note="rollback")
