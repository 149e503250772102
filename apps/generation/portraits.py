"""What visitors do with their portraits once painted: consent to the wall, paint again, delete one,
take them along when they sign up, and erase everything of theirs.

Deleting removes the stored files (the selfies and the portrait) before anything else; the job row
stays with only what the token ledger needs (who, when, the outcome). Erasing an owner (their account,
their guest session) removes the rows too. Every wall copy leaves with the portrait: photowall listens
to `signals.portrait_withdrawn`.
"""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from apps.generation import job_params, photo_uploads, services
from apps.generation.errors import Refused
from apps.generation.models import LIVE_STATUSES, GenerationJob
from apps.generation.selectors import owner_fields
from apps.generation.signals import portrait_withdrawn
from apps.sessions_tokens import events
from apps.sessions_tokens.models import ApiKey, GuestSession, User
from inference.params import TRUSTED, ParamError, Role

logger = logging.getLogger("narcis.generation")

# What an erased row keeps: its id (the ledger's reference), owner, status and times. No words, no files.
ERASED_FIELDS = {
    "face_image": "",
    "result_image": "",
    "idea": "",
    "prompt": "",
    "negative_prompt": "",
    "metadata": {},
    "params": {},
    "concept_seed": None,
    "webhook_url": "",
    "error_message": "",
    "error_detail": "",
    "idempotency_key": None,
    "wall_consent": False,
}


def job_consent_set(*, job: GenerationJob, consent: bool) -> GenerationJob:
    """Give or withdraw consent to show the portrait on the public PhotoWall. Withdrawing takes every
    wall copy down now (the wall cache reloads at the commit)."""
    with transaction.atomic():
        GenerationJob.objects.filter(pk=job.pk, erased_at__isnull=True).update(wall_consent=consent)
        if not consent:
            portrait_withdrawn.send(sender=GenerationJob, job=job)
    job.refresh_from_db()
    logger.info("wall consent set", extra={"job_id": str(job.id), "consent": consent})
    return job


def job_erase(*, job: GenerationJob) -> GenerationJob:
    """Delete a finished portrait at its owner's request: its photos and result leave storage, its wall
    copies leave the wall; the row keeps only what the ledger needs. Refused while it is painted."""
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if locked.erased_at is not None:
            return locked
        if locked.status in LIVE_STATUSES:
            message = "This portrait is still being painted. Cancel it first, or wait until it is done."
            raise Refused(409, "still_painting", message)
        portrait_withdrawn.send(sender=GenerationJob, job=locked)
        _delete_files(locked)
        locked.extra_faces.all().delete()
        locked.webhook_deliveries.all().delete()  # their payloads hold the words and the result's URL
        GenerationJob.objects.filter(pk=locked.pk).update(erased_at=timezone.now(), **ERASED_FIELDS)
    logger.info("portrait erased", extra={"job_id": str(job.id)})
    locked.refresh_from_db()
    return locked


def job_paint_again(
    *,
    job: GenerationJob,
    role: Role = Role.VISITOR,
    idempotency_key: str | None = None,
    api_key: ApiKey | None = None,
) -> GenerationJob:
    """A new portrait from the same photos, idea and concept, with a new seed: one token, like any other.
    Staff and operators keep the job's parameters too; a visitor's run on today's defaults."""
    if job.erased_at is not None or not job.face_image:
        message = (
            "We no longer keep the selfie of this portrait (selfies are deleted some days after painting). "
            "Please create a new portrait with a fresh photo."
        )
        raise Refused(409, "photos_gone", message)
    photos = [_copy(job.face_image), *(_copy(extra.image) for extra in job.extra_faces.all())]
    params = {k: v for k, v in job.params.items() if k != "seed"} if role in TRUSTED else None
    return services.job_submit(
        owner=job.user or job.guest_session,
        idea=job.idea,
        face=photos[0],
        extra_faces=photos[1:],
        params=params,
        role=role,
        idempotency_key=idempotency_key,
        concept_seed=_concept_seed_of(job),
        api_key=api_key,
        # A program that paints again hears of the new job where it heard of the first (webhooks need a
        # key); consent to the wall is asked for each portrait anew.
        webhook_url=job.webhook_url if api_key is not None else "",
    )


def _concept_seed_of(job: GenerationJob) -> int | None:
    """The seed of the concept the job was painted with: the previewed one, else the job's own seed."""
    if job.concept_seed is not None:
        return job.concept_seed
    try:
        return job_params.params_of(job).seed
    except ParamError:
        return None  # a row whose parameters no longer parse: a fresh concept for the same idea


def _copy(stored) -> ContentFile:
    with stored.open("rb") as handle:
        return ContentFile(handle.read())


def jobs_move_to_account(*, session: GuestSession, user: User) -> int:
    """A guest signed up or logged in: their portraits now belong to the account (sent inside the link's
    transaction, while it holds the guest wallet, so no job can be queued on the session meanwhile)."""
    jobs = GenerationJob.objects.filter(guest_session=session)
    # A retry key the account already used would make two of its jobs answer to one key.
    taken = GenerationJob.objects.filter(user=user, idempotency_key__isnull=False).values("idempotency_key")
    jobs.filter(idempotency_key__in=taken).update(idempotency_key=None)
    moved = jobs.update(user=user, guest_session=None)
    photo_uploads.uploads_move(session=session, user=user)
    if moved:
        logger.info("guest portraits moved", extra={"session": str(session.pk)[:8], "jobs": moved})
    return moved


def owner_erase(*, owner: User | GuestSession) -> int:
    """Every job of an owner who is being deleted (files from storage, copies from the wall, then the
    rows) and the photos they sent ahead. A job being painted right now loses its row, so its worker
    stores nothing (it holds no row)."""
    jobs = list(GenerationJob.objects.filter(**owner_fields(owner)).prefetch_related("extra_faces"))
    for job in jobs:
        portrait_withdrawn.send(sender=GenerationJob, job=job)
        _delete_files(job)
    GenerationJob.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    photo_uploads.uploads_erase(owner=owner)  # photos sent ahead and never used
    return len(jobs)


def _delete_files(job: GenerationJob) -> None:
    for stored in (job.face_image, job.result_image, *(extra.image for extra in job.extra_faces.all())):
        if stored:
            stored.delete(save=False)


@receiver(events.guest_linked, dispatch_uid="generation.move_guest_jobs")
def _on_guest_linked(sender, *, session: GuestSession, user: User, **kwargs) -> None:
    jobs_move_to_account(session=session, user=user)


@receiver(events.owner_erasing, dispatch_uid="generation.erase_owner_jobs")
def _on_owner_erasing(sender, *, owner: User | GuestSession, **kwargs) -> None:
    owner_erase(owner=owner)
