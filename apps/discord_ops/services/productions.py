"""Productions: results an operator kept (the Save button, 💾, `ops save`, production mode), each once."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from apps.discord_ops import selectors
from apps.discord_ops.errors import OpsError
from apps.discord_ops.models import Production, SessionItem
from apps.generation import selectors as generation_selectors

logger = logging.getLogger("narcis.ops")


def production_save(*, job, operator, message_link: str = "") -> tuple[Production, bool]:
    """Keep a result (`job`: a job or its id): its image copied to productions/saved/<id>.png with what
    made it. Saving the same result again returns the first production (False: not created)."""
    job_id = getattr(job, "pk", job)
    existing = Production.objects.filter(source_job_id=job_id).first()
    if existing is not None:
        return existing, False
    outcome = generation_selectors.job_outcomes([job_id]).get(job_id)
    if outcome is None or not outcome.succeeded:
        status = outcome.status if outcome else "unknown"
        raise OpsError(f"Result {str(job_id)[:8]} is {status}: only finished portraits can be saved.")
    item = SessionItem.objects.filter(job_id=job_id).select_related("face__folder").first()
    face = item.face if item is not None else None
    try:
        with transaction.atomic():
            production = Production.objects.create(
                source_job_id=job_id,
                operator=operator,
                mecene_input=outcome.idea,
                keywords=outcome.keywords,
                params=outcome.params,
                seed=outcome.seed,
                face_folder=face.folder.name if face else "",
                face_file=face.name if face else "",
                identity_score=outcome.identity_score,
                saved_from_message=message_link[:200],
            )
            image = ContentFile(generation_selectors.job_result_bytes(job_id))
            production.image.save(f"{production.pk}.png", image, save=True)
    except IntegrityError:  # a second Save at the same moment: the first one's production
        return Production.objects.get(source_job_id=job_id), False
    logger.info("production saved", extra={"job_id": str(job_id), "production": production.pk})
    return production, True


def production_save_item(*, item_id: int, operator, message_link: str = "") -> tuple[Production, bool]:
    """The Save button and 💾: the result of a session item."""
    job_id = SessionItem.objects.filter(pk=item_id).values_list("job_id", flat=True).first()
    if job_id is None:
        raise OpsError("That result is no longer known.")
    return production_save(job=job_id, operator=operator, message_link=message_link)


def productions_for_finished(*, session) -> list[Production]:
    """Production mode: every finished result of the session saved, without waiting for Save."""
    if not session.production_mode:
        return []
    job_ids = selectors.session_job_ids(session.pk)
    saved = set(Production.objects.filter(source_job_id__in=job_ids).values_list("source_job_id", flat=True))
    outcomes = generation_selectors.job_outcomes(set(job_ids) - saved)
    return [
        production_save(job=job_id, operator=session.operator)[0]
        for job_id, outcome in outcomes.items()
        if outcome.succeeded
    ]
