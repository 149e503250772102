"""Reads of the job queue."""

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.generation import eta
from apps.generation.models import LIVE_STATUSES, GenerationJob, JobStatus, Priority
from apps.sessions_tokens.models import GuestSession, User


def guest_sessions_with_live_jobs() -> QuerySet:
    """Guest sessions whose jobs are queued or running: purging them would orphan paid work."""
    return GenerationJob.objects.filter(status__in=LIVE_STATUSES, guest_session__isnull=False).values(
        "guest_session_id"
    )


def owner_fields(owner) -> dict:
    """The job fields that name this owner (a user or a guest session)."""
    return {"user": owner} if isinstance(owner, User) else {"guest_session": owner}


def viewer(request) -> User | GuestSession | None:
    """The logged-in user, else the guest session from the cookie; None for a visitor with nothing yet
    (never creates a session: reading creates nothing)."""
    return request.user if request.user.is_authenticated else request.guest.get(create=False)


def viewer_key(request) -> str | None:
    """The viewer as a key for counters and caches ("user-<id>", "guest-<id>"), or None."""
    found = viewer(request)
    if found is None:
        return None
    return f"user-{found.pk}" if isinstance(found, User) else f"guest-{found.pk}"


def job_by_key(owner, key: str) -> GenerationJob | None:
    return GenerationJob.objects.filter(idempotency_key=key, **owner_fields(owner)).first()


def jobs_of(owner) -> QuerySet:
    """The owner's portraits, newest first; those they deleted are gone from every view."""
    return (
        GenerationJob.objects.filter(erased_at__isnull=True, **owner_fields(owner))
        .prefetch_related("extra_faces")
        .order_by("-created_at")
    )


def job_for_viewer(job_id: str, request, *, owner_only: bool = False) -> GenerationJob:
    """The job when the caller owns it (or is staff, unless `owner_only`: what only the owner may do,
    such as deleting it); Http404 otherwise, never 403: no existence leak. A deleted one is gone."""
    try:
        job = GenerationJob.objects.get(pk=uuid.UUID(str(job_id)), erased_at__isnull=True)
    except (ValueError, GenerationJob.DoesNotExist):
        raise Http404 from None
    user = request.user if request.user.is_authenticated else None
    if user is not None and (job.user_id == user.pk or (user.is_staff and not owner_only)):
        return job
    guest = None if user is not None else request.guest.get(create=False)
    if guest is not None and job.guest_session_id == guest.pk:
        return job
    raise Http404


def may_show_in_public(job: GenerationJob) -> bool:
    """Its owner consented; or it is staff's or operators' own work (their own test faces)."""
    return job.wall_consent or job.priority == Priority.OPERATOR


def job_keywords(job: GenerationJob) -> list[str]:
    """The mecene keywords the worker painted the job with (its caption); the idea's words before then."""
    concept = (job.metadata or {}).get("mecene") or {}
    return list(concept.get("chosen") or job.idea.split())


def photo_count(job: GenerationJob) -> int:
    """How many photos of the person the job holds: its selfie and the extra ones (0 once deleted)."""
    return (1 if job.face_image else 0) + len(job.extra_faces.all())


def recent_and_queued(owner, *, since) -> tuple[int, int]:
    jobs = GenerationJob.objects.filter(**owner_fields(owner))
    return jobs.filter(created_at__gte=since).count(), jobs.filter(status=JobStatus.QUEUED).count()


def queued_in_claim_order() -> QuerySet:
    """Ids of queued jobs, the next to be claimed first (the order services.jobs_claim takes)."""
    return (
        GenerationJob.objects.filter(status=JobStatus.QUEUED)
        .order_by("-priority", "created_at")
        .values_list("id", flat=True)
    )


def queue_position(job: GenerationJob) -> int:
    """How many queued jobs will be claimed before this one (0 = next)."""
    ahead = Q(priority__gt=job.priority) | Q(priority=job.priority, created_at__lt=job.created_at)
    return GenerationJob.objects.filter(ahead, status=JobStatus.QUEUED).count()


def job_public(job: GenerationJob) -> dict:
    """What the job's owner may know of it: the API's JobOut and the webhooks' `data`."""
    position = queue_position(job) if job.status == JobStatus.QUEUED else None
    return {
        "id": str(job.id),
        "status": job.status,
        "idea": job.idea,
        "created_at": job.created_at,
        "progress": {
            "stage": job.progress_stage,
            "step": job.progress_step,
            "total": job.progress_total,
            "percent": job.progress_percent,
        },
        "queue_position": position,
        "eta_seconds": eta.eta_seconds(position) if position is not None else None,
        "result_url": job.result_image.url if job.result_image else None,  # presigned on S3
        "error": job.error_message or None,
        "prompt": job.prompt or None,
        "keywords": job_keywords(job),
        "photos": photo_count(job),
        "wall_consent": job.wall_consent,
        "finished_at": job.finished_at,
    }
