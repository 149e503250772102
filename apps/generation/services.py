"""Writes to the job queue. Every state change is a conditional UPDATE on the row's current state, so two
workers (or a worker and the reaper) can never both move the same job; tokens move only with it.

    queued --claim--> running --succeed--> succeeded
       |                 |  \\--fail-------> failed   (+ refund)
       |                 |  \\--cancel-----> canceled (+ refund)
       |                 |  \\--release----> queued again (a fault of ours), or failed + refund at the 3rd
       |                 \\--lease expired--> queued again, or failed + refund after max_attempts
       \\--cancel--> canceled (+ refund)

Attempts: a claim counts one. It is given back when the job is handed back for a fault of ours
(job_release) and when its worker died before it ran a single step (the reaper): only painting that a
worker began and never finished counts against the visitor's max_attempts.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.generation import job_params, photo_uploads, selectors, webhooks
from apps.generation.errors import Refused
from apps.generation.models import (
    LIVE_STATUSES,
    ExtraFace,
    GenerationJob,
    JobStatus,
    Priority,
    WebhookEvent,
)
from apps.generation.selectors import owner_fields
from apps.generation.stored_files import unnamed_files
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import ApiKey, GuestSession, User
from inference.params import TRUSTED, GenerationParams, Role

logger = logging.getLogger("narcis.generation")

Owner = User | GuestSession


def job_submit(
    *,
    owner: Owner,
    idea: str,
    face: ContentFile,
    extra_faces: Sequence[ContentFile] = (),
    params: GenerationParams | dict | None = None,
    role: Role = Role.VISITOR,
    idempotency_key: str | None = None,
    concept_seed: int | None = None,
    wall_consent: bool = False,
    webhook_url: str = "",
    api_key: ApiKey | None = None,
    uploads: Sequence[str] = (),
) -> GenerationJob:
    """Check, spend one token and queue the job, in one transaction: no token, no row; no row, no token.
    `uploads`: the ids of the owner's photos sent ahead (POST /api/uploads) that `face` and `extra_faces`
    were read from; they are used up in the same transaction (photo_uploads.uploads_take).

    `face`, `extra_faces` (further photos of the same person) and `idea` must already be clean
    (apps.generation.uploads: clean_faces, clean_idea). `params` (staff and operators only) go over the
    workers' defaults and are stored fully resolved, seed included; a GenerationParams that
    job_params.resolve made already (the API's edge) is stored as it is, not validated again.
    Visitors are held to GENERATIONS_PER_MINUTE and GENERATIONS_MAX_QUEUED; their programs, submitting
    with `api_key`, to that key's own API_KEY_GENERATIONS_PER_MINUTE and API_KEY_MAX_QUEUED instead.
    A repeated idempotency key returns the job it created the first time, spending nothing. Refusals
    raise Refused (or TokenError: no token).
    `webhook_url` (checked by the caller: webhook_http.check_url) receives the job's events.
    """
    if idempotency_key:
        existing = GenerationJob.objects.filter(
            idempotency_key=idempotency_key, **owner_fields(owner)
        ).first()
        if existing is not None:
            return existing
    job_id = uuid.uuid4()
    if isinstance(params, GenerationParams):  # resolved at the edge already: not validated again
        resolved = job_params.with_seed(params, job_id=job_id)
    else:
        resolved = job_params.resolve(params, role=role, job_id=job_id)
    job = GenerationJob(
        id=job_id,
        idea=idea,
        params=resolved.model_dump(),
        concept_seed=concept_seed,
        batch_key=resolved.batch_key(),
        priority=Priority.OPERATOR if role in TRUSTED else Priority.VISITOR,
        idempotency_key=idempotency_key or None,
        wall_consent=wall_consent,
        webhook_url=webhook_url,
        api_key=api_key,
        **owner_fields(owner),
    )
    # The photos go to storage first and are deleted again if the row is not committed: a personal
    # photo never outlives a submission that failed (no token, a lost idempotency race, a dead database).
    job.face_image.save(f"{job_id}.png", face, save=False)
    extras = [ExtraFace(job=job, position=n) for n in range(len(extra_faces))]
    try:
        for extra, photo in zip(extras, extra_faces, strict=True):
            extra.image.save(f"{job_id}-{extra.position + 2}.png", photo, save=False)
        with transaction.atomic():
            # The spend's UPDATE locks the owner's wallet row until this commits: a parallel submit of
            # the same owner waits on it, and then counts every job committed before it.
            tokens.spend(owner=owner, amount=1, reference=job.token_reference)
            if role == Role.VISITOR:
                _check_limits(owner, api_key)
            photo_uploads.uploads_take(owner=owner, ids=uploads)
            job.save(force_insert=True)
            ExtraFace.objects.bulk_create(extras)
    except BaseException as error:
        for stored in [job.face_image, *(extra.image for extra in extras)]:
            if stored:
                stored.delete(save=False)
        if isinstance(error, IntegrityError) and idempotency_key:
            # A concurrent retry with the same idempotency key won the insert; its job is the answer.
            return GenerationJob.objects.get(idempotency_key=idempotency_key, **owner_fields(owner))
        raise
    logger.info("job queued", extra={"job_id": str(job.id), "priority": job.priority})
    return job


def job_submit_precheck(*, owner: Owner, role: Role = Role.VISITOR, api_key: ApiKey | None = None) -> None:
    """The refusals a submit can meet that cost no photo work: the visitor's limits and the balance,
    read without locking, so a submit bound to fail is refused before its photos are decoded (the
    parameters were refused or resolved before: job_params.resolve). job_submit decides again, for
    real, inside its transaction."""
    if role == Role.VISITOR:
        _check_limits(owner, api_key)
    token_selectors.check_balance_covers(owner, amount=1)


def _check_limits(owner: Owner, api_key: ApiKey | None = None) -> None:
    """A person at the page waits for their portraits; a program queues a batch. So a job submitted with
    an API key counts against the allowance the account's keys share, and the page's against the owner's
    visitor one."""
    since = timezone.now() - dt.timedelta(minutes=1)
    recent, queued = selectors.recent_and_queued(owner, since=since, by_program=api_key is not None)
    if api_key is None:
        per_minute, max_queued = settings.GENERATIONS_PER_MINUTE, settings.GENERATIONS_MAX_QUEUED
        waiting = "You already have portraits waiting. Let them finish first."
    else:
        per_minute, max_queued = settings.API_KEY_GENERATIONS_PER_MINUTE, settings.API_KEY_MAX_QUEUED
        waiting = f"Your API keys have {max_queued} portraits waiting already: submit more as they finish."
    if recent >= per_minute:
        message = "You are creating portraits very quickly. Please wait a minute."
        raise Refused(429, "rate_limited", message)
    if queued >= max_queued:
        raise Refused(429, "too_many_queued", waiting)


def jobs_claim(
    *, worker_id: str, limit: int, lease_seconds: int, now: dt.datetime | None = None
) -> list[GenerationJob]:
    """Take up to `limit` compatible queued jobs (same batch key as the head of the queue).

    Operators go first, but never starve visitors: once OPERATOR_JOBS_PER_VISITOR (a setting) operators'
    jobs were claimed since the oldest waiting visitor's job was queued, that job is the head (_fair_head).

    PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint jobs without
    waiting. SQLite: the IMMEDIATE transaction holds the database's write lock from its first statement,
    which serialises claims the same way.
    """
    now = now or timezone.now()
    with transaction.atomic():
        queued = GenerationJob.objects.filter(status=JobStatus.QUEUED).order_by("-priority", "created_at")
        head, limit = _fair_head(queued, limit)
        if head is None:
            return []
        if head.suspect:  # a suspect is painted alone, and no batch takes one in (poison isolation)
            ids = [head.id]
        else:
            compatible = (
                queued.filter(batch_key=head.batch_key, suspect=False)
                .exclude(id=head.id)
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[: limit - 1]
            )
            ids = [head.id, *compatible]
        GenerationJob.objects.filter(id__in=ids, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING,
            worker_id=worker_id,
            claimed_with=len(ids),
            attempts=F("attempts") + 1,
            started_at=now,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            **FRESH_PROGRESS,  # this attempt's own: the reaper reads whether it painted a step
        )
        jobs = list(GenerationJob.objects.filter(id__in=ids, worker_id=worker_id, status=JobStatus.RUNNING))
        for job in jobs:
            webhooks.enqueue(job, WebhookEvent.STARTED)
    for job in jobs:
        logger.info(
            "job claimed", extra={"job_id": str(job.id), "worker": worker_id, "attempt": job.attempts}
        )
    return jobs


def _fair_head(queued, limit: int) -> tuple[GenerationJob | None, int]:
    """The job to claim first, and how many may be claimed with it. Counted in jobs, not time: the
    operators' jobs started since the oldest waiting visitor's job was queued."""
    head = queued.select_for_update(skip_locked=True).first()
    if head is None or head.priority == Priority.VISITOR:
        return head, limit
    # A look, not a lock: a lock held while an operator batch is claimed would hide this visitor's job
    # from a concurrent claim, which would then see no visitor waiting and take operators' jobs past
    # the share.
    oldest_visitor = queued.filter(priority=Priority.VISITOR).first()
    if oldest_visitor is None:
        return head, limit
    share = settings.OPERATOR_JOBS_PER_VISITOR
    served = GenerationJob.objects.filter(  # the job_operator_starts index
        priority__gt=Priority.VISITOR, started_at__gte=oldest_visitor.created_at
    ).count()
    if served < share:
        return head, min(limit, share - served)
    visitor = queued.filter(priority=Priority.VISITOR).select_for_update(skip_locked=True).first()
    return (visitor, limit) if visitor is not None else (head, limit)


FRESH_PROGRESS = {"progress_stage": "", "progress_step": 0, "progress_total": 0, "progress_percent": 0.0}
MAX_INFRA_FAULTS = 3  # hand-backs (job_release): the third fails the job, refunded, with an operator alert
MAX_UNSTARTED_DEATHS = 5  # faults of ours counted with deaths before a step (the reaper) fail it at five


def _held(job: GenerationJob, worker_id: str):
    """The row, only while this worker still holds it."""
    return GenerationJob.objects.filter(id=job.id, worker_id=worker_id, status=JobStatus.RUNNING)


def job_renew_lease(*, job: GenerationJob, worker_id: str, lease_seconds: int) -> bool:
    """Extend the lease; False when the job was taken away (reaped, canceled), so the worker must stop."""
    until = timezone.now() + dt.timedelta(seconds=lease_seconds)
    return _held(job, worker_id).update(lease_expires_at=until) == 1


def job_succeed(
    *,
    job: GenerationJob,
    worker_id: str,
    image: ContentFile,
    prompt: str,
    negative_prompt: str,
    metadata: dict,
) -> bool:
    with transaction.atomic():
        locked = _held(job, worker_id).select_for_update().first()
        if locked is None:
            return False
        # An attempt killed between its upload and this commit left the same name behind: replace it,
        # or the storage would add a suffix and keep that orphan (personal, and never deleted).
        name = locked.result_image.field.generate_filename(locked, f"{job.id}.png")
        locked.result_image.storage.delete(name)
        locked.result_image.save(f"{job.id}.png", image, save=False)
        locked.status, locked.finished_at = JobStatus.SUCCEEDED, timezone.now()
        locked.prompt, locked.negative_prompt, locked.metadata = prompt, negative_prompt, metadata
        locked.lease_expires_at = None
        locked.save()
        webhooks.enqueue(locked, WebhookEvent.SUCCEEDED)
    logger.info("job succeeded", extra={"job_id": str(job.id), "worker": worker_id})
    return True


def _end_with_refund(rows, status: str, **fields) -> bool:
    """Move the selected row to a final status and give its token back, together."""
    with transaction.atomic():
        job = rows.select_for_update().first()
        if job is None:
            return False
        rows.filter(id=job.id).update(
            status=status, finished_at=timezone.now(), lease_expires_at=None, **fields
        )
        tokens.refund(reference=job.token_reference)
        webhooks.enqueue_final(job, status)
    return True


def job_fail(*, job: GenerationJob, worker_id: str, message: str, detail: str = "") -> bool:
    ended = _end_with_refund(
        _held(job, worker_id), JobStatus.FAILED, error_message=message[:300], error_detail=detail
    )
    if ended:
        logger.warning("job failed", extra={"job_id": str(job.id), "worker": worker_id})
    return ended


def job_release(*, job: GenerationJob, worker_id: str, reason: str) -> str:
    """Hand a job back to the queue for a fault of ours (database, storage, GPU): no attempt counted, no
    refund; another worker takes it. The third time it is failed and refunded with the reason for staff,
    and an operator alert is logged: a job that keeps meeting faults of ours means a broken deployment.
    Returns the job's new status ("" when this worker no longer held it)."""
    with transaction.atomic():
        held = _held(job, worker_id).select_for_update().first()
        if held is None:
            return ""
        faults = held.infra_faults + 1
        if faults < MAX_INFRA_FAULTS:
            _held(job, worker_id).update(
                status=JobStatus.QUEUED,
                worker_id="",
                lease_expires_at=None,
                attempts=F("attempts") - 1,
                infra_faults=faults,
                **FRESH_PROGRESS,
            )
            logger.warning(
                "job handed back", extra={"job_id": str(job.id), "worker": worker_id, "reason": reason}
            )
            return JobStatus.QUEUED
    message = "A problem on our side kept us from painting your portrait. Your token has been returned."
    detail = f"infrastructure fault {faults} times; last: {reason}"
    _end_with_refund(
        _held(job, worker_id),
        JobStatus.FAILED,
        error_message=message,
        error_detail=detail,
        infra_faults=faults,
    )
    logger.error(
        "operator alert: job failed by repeated infrastructure faults",
        extra={"job_id": str(job.id), "worker": worker_id, "reason": reason, "faults": faults},
    )
    return JobStatus.FAILED


def job_preempt(*, job: GenerationJob, worker_id: str) -> bool:
    """The worker is being stopped (a spot interruption, a deploy) and cannot finish before it is killed:
    the job goes back to the head of the queue at once, its last progress kept for the page until a
    worker claims it. Neither an attempt (not the visitor's doing) nor a fault (not a broken deployment).
    False when this worker no longer held it."""
    back = _held(job, worker_id).update(
        status=JobStatus.QUEUED, worker_id="", lease_expires_at=None, attempts=F("attempts") - 1
    )
    if back:
        logger.info(
            "job handed back before the stop deadline", extra={"job_id": str(job.id), "worker": worker_id}
        )
    return back == 1


def job_cancel(*, job: GenerationJob) -> str:
    """A queued job is canceled and refunded now; a running one is flagged for its worker."""
    queued = GenerationJob.objects.filter(id=job.id, status=JobStatus.QUEUED)
    if _end_with_refund(queued, JobStatus.CANCELED, cancel_requested=True):
        return JobStatus.CANCELED
    GenerationJob.objects.filter(id=job.id, status=JobStatus.RUNNING).update(cancel_requested=True)
    return GenerationJob.objects.values_list("status", flat=True).get(id=job.id)


def job_finish_canceled(*, job: GenerationJob, worker_id: str) -> bool:
    """The worker stopped a job whose owner canceled it: canceled, refunded."""
    return _end_with_refund(_held(job, worker_id).filter(cancel_requested=True), JobStatus.CANCELED)


def jobs_reap_expired(
    *, now: dt.datetime | None = None, on_failed: Callable[[GenerationJob], None] | None = None
) -> tuple[int, int]:
    """Jobs whose worker stopped renewing (a spot interruption): back to the queue, or failed + refunded
    once they have used their attempts (`on_failed(job)` then, e.g. to tell the owner). Returns
    (requeued, failed).

    A death while painting a batch of several jobs is charged to none of them (it may have been any
    one's fault, or none's): they go back as suspects, each painted alone next. Only a death while
    painting alone counts as an attempt, so a job that kills its worker fails alone after its attempts
    and the jobs that shared its batch lose nothing."""
    now = now or timezone.now()
    expired = GenerationJob.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now)
    back = {"status": JobStatus.QUEUED, "worker_id": "", "lease_expires_at": None}
    # Its worker died before painting a step (killed while claiming, loading, reading the photo): not an
    # attempt, but a fault of ours; the fifth fails it (a job that kills every worker that takes it).
    unstarted = expired.filter(progress_step=0)
    requeued = unstarted.filter(infra_faults__lt=MAX_UNSTARTED_DEATHS - 1).update(
        **back, attempts=F("attempts") - 1, infra_faults=F("infra_faults") + 1
    )
    started = expired.exclude(progress_step=0)
    requeued += started.filter(claimed_with__gt=1).update(**back, attempts=F("attempts") - 1, suspect=True)
    requeued += started.filter(attempts__lt=F("max_attempts")).update(**back)
    failed = 0
    for job in expired:  # what is left: out of attempts, or of patience with faults of ours
        still_expired = GenerationJob.objects.filter(
            Q(id=job.id), Q(status=JobStatus.RUNNING), Q(lease_expires_at__lt=now)
        )
        message = (
            "Our painters were interrupted several times on your portrait. Your token has been returned."
        )
        if _end_with_refund(
            still_expired,
            JobStatus.FAILED,
            error_message=message,
            error_detail=(
                f"lease expired after {job.attempts} attempts (painted alone: its worker died each time), "
                f"{job.infra_faults} unstarted"
            ),
        ):
            failed += 1
            if on_failed is not None:
                on_failed(job)
    if requeued or failed:
        logger.warning("expired leases reaped", extra={"requeued": requeued, "failed": failed})
    return requeued, failed


FACES_FOLDER = "faces"
ORPHAN_GRACE = dt.timedelta(hours=1)  # a submission stores its photo just before its row commits


@dataclass(frozen=True)
class FaceSweep:
    orphans: list[str]  # files under faces/ that no job names
    expired: list[str]  # selfies of jobs finished more than FACE_RETENTION_DAYS ago (the portraits stay)
    uploads: list[str] = field(default_factory=list)  # sent ahead (POST /api/uploads), expired unused


def faces_sweep(*, now: dt.datetime | None = None, dry_run: bool = False) -> FaceSweep:
    """Delete the personal photos Narcis no longer needs: files no job names (older than an hour, so a
    submission in flight keeps its own), the selfies of finished jobs past FACE_RETENTION_DAYS, and the
    photos sent ahead that expired unused."""
    now = now or timezone.now()
    storage = GenerationJob._meta.get_field("face_image").storage

    def named_among(paths: list[str]) -> list[str]:
        jobs = GenerationJob.objects.filter(face_image__in=paths).values_list("face_image", flat=True)
        return [*jobs, *ExtraFace.objects.filter(image__in=paths).values_list("image", flat=True)]

    orphans = unnamed_files(storage, FACES_FOLDER, named_among=named_among, older_than=now - ORPHAN_GRACE)
    cutoff = now - dt.timedelta(days=settings.FACE_RETENTION_DAYS)
    finished = GenerationJob.objects.exclude(status__in=LIVE_STATUSES).filter(finished_at__lt=cutoff)
    expired_jobs = list(finished.exclude(face_image="").values_list("id", "face_image"))
    expired_extras = list(ExtraFace.objects.filter(job__in=finished).values_list("id", "image"))
    if not dry_run:
        for path in orphans:
            storage.delete(path)
        for job_id, path in expired_jobs:
            storage.delete(path)
            GenerationJob.objects.filter(id=job_id, face_image=path).update(face_image="")
        for extra_id, path in expired_extras:
            storage.delete(path)
            ExtraFace.objects.filter(id=extra_id).delete()
    expired = [path for _, path in expired_jobs + expired_extras]
    uploads = photo_uploads.uploads_sweep_expired(now=now, dry_run=dry_run)
    uploads += photo_uploads.uploads_sweep_orphans(now=now, grace=ORPHAN_GRACE, dry_run=dry_run)
    report = FaceSweep(orphans=orphans, expired=expired, uploads=uploads)
    logger.info(
        "faces swept",
        extra={
            "orphans": len(report.orphans),
            "expired": len(report.expired),
            "uploads": len(report.uploads),
            "dry_run": dry_run,
        },
    )
    return report
