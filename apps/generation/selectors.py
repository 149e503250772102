"""Reads of the job queue, and the one read-model of what a job produced (JobOutcome): the API,
webhooks, photowall and discord_ops read a job through it, never its columns or metadata keys."""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from apps.generation import eta
from apps.generation.models import ENDED_STATUSES, LIVE_STATUSES, GenerationJob, JobStatus, Priority
from apps.sessions_tokens.models import GuestSession, User
from inference.params import GenerationParams, ParamError


def guest_sessions_with_live_jobs() -> QuerySet:
    """Guest sessions whose jobs are queued or running: purging them would orphan paid work."""
    return GenerationJob.objects.filter(status__in=LIVE_STATUSES, guest_session__isnull=False).values(
        "guest_session_id"
    )


def owner_fields(owner) -> dict:
    """The job fields that name this owner (a user or a guest session)."""
    return {"user": owner} if isinstance(owner, User) else {"guest_session": owner}


def viewer_key(request) -> str | None:
    """The viewer as a key for counters and caches ("user-<id>", "guest-<id>"), or None."""
    found = request.owner.get()  # never created: reading creates nothing
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
    owner = request.owner.get()
    if isinstance(owner, User) and (job.user_id == owner.pk or (owner.is_staff and not owner_only)):
        return job
    if isinstance(owner, GuestSession) and job.guest_session_id == owner.pk:
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


def recent_and_queued(owner, *, since, by_program: bool) -> tuple[int, int]:
    """How many of the owner's jobs were created since `since`, and are queued now: those its programs
    submitted (with any of its API keys: a new key brings no new allowance), or those from the page when
    `by_program` is False (a program's batch never fills the page's allowance)."""
    jobs = GenerationJob.objects.filter(api_key__isnull=not by_program, **owner_fields(owner))
    return jobs.filter(created_at__gte=since).count(), jobs.filter(status=JobStatus.QUEUED).count()


def queued_in_claim_order() -> QuerySet:
    """Ids of queued jobs, the next to be claimed first (the order services.jobs_claim takes)."""
    return (
        GenerationJob.objects.filter(status=JobStatus.QUEUED)
        .order_by("-priority", "created_at")
        .values_list("id", flat=True)
    )


def queue_position(job: GenerationJob) -> int:
    """How many queued jobs will be claimed before this one (0 = next). A visitor's job waits for the
    visitors' jobs before it and, per visitor job, at most OPERATOR_JOBS_PER_VISITOR operators' jobs
    (services.jobs_claim's fair share)."""
    queued = GenerationJob.objects.filter(status=JobStatus.QUEUED)
    same = queued.filter(priority=job.priority, created_at__lt=job.created_at).count()
    return position_from_counts(job.priority, same, queued.filter(priority__gt=job.priority).count())


def position_from_counts(priority: int, earlier_same: int, higher: int) -> int:
    """The queue position from two counts of queued jobs: those of the same priority created before it,
    and those of a higher priority (the status snapshot's read counts them in Redis)."""
    if priority >= Priority.OPERATOR:
        return earlier_same + higher
    return earlier_same + min(higher, settings.OPERATOR_JOBS_PER_VISITOR * (earlier_same + 1))


def job_public(job: GenerationJob, *, with_queue_position: bool = True) -> dict:
    """What the job's owner (or staff: job_for_viewer decides) may know of it: the API's JobOut and the
    webhooks' `data`. Plain JSON values only: a webhook stores it as it is at the event. Without the
    queue position (and so the ETA) for the status snapshot, which adds them when read."""
    queued = with_queue_position and job.status == JobStatus.QUEUED
    position = queue_position(job) if queued else None
    outcome = job_outcome(job)
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
        "keywords": outcome.keywords,
        "photos": photo_count(job),
        "wall_consent": job.wall_consent,
        "finished_at": job.finished_at,
        "params": outcome.params or None,
        "outcome": outcome.painted() if outcome.ended else None,
    }


@dataclass(frozen=True)
class ConceptUsed:
    """The mecene concept a job was painted with: `seed` and the idea's words give it back
    (concept_seed at submit), `idea` is the sentence it grew from them."""

    seed: int
    idea: str


@dataclass(frozen=True)
class JobOutcome:
    """What a job is and produced, typed: the only way other apps read a job."""

    id: uuid.UUID
    status: str
    idea: str
    params: dict  # resolved, seed included: exactly what the worker ran (or will run)
    seed: int | None
    identity_score: float | None
    keywords: list[str]
    seconds: float | None  # painting time, claim to end
    stage_seconds: dict[str, float]  # {"base": ..., "detailing": ...} once painted, else {}
    concept: ConceptUsed | None  # once painted
    finished_at: dt.datetime | None
    error: str  # the visitor-facing reason when it did not succeed
    result_name: str  # the result's storage name ("" until it succeeded)
    priority: int
    public: bool  # may be shown on the wall (consent, or operators' own work)

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == JobStatus.SUCCEEDED and bool(self.result_name)

    def painted(self) -> dict:
        """What painting produced, as JSON values: the API's JobOut.outcome."""
        return {
            "identity_score": self.identity_score,
            "seconds": self.seconds,
            "stage_seconds": self.stage_seconds,
            "keywords": self.keywords,
            "concept": dataclasses.asdict(self.concept) if self.concept else None,
        }


STAGE_TIMINGS = {"base": "base_s", "detailing": "detailing_s"}  # the pipeline's names for its stages


def job_outcome(job: GenerationJob) -> JobOutcome:
    metadata = job.metadata or {}
    score = metadata.get("identity_score")
    seconds = (
        (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
    )
    timings = metadata.get("timings") or {}
    params = _params_run(job)
    return JobOutcome(
        id=job.id,
        status=job.status,
        idea=job.idea,
        params=params,
        seed=params.get("seed"),
        identity_score=float(score) if score is not None else None,
        keywords=job_keywords(job),
        seconds=seconds,
        stage_seconds={stage: float(timings[key]) for stage, key in STAGE_TIMINGS.items() if key in timings},
        concept=_concept_used(metadata.get("mecene")),
        finished_at=job.finished_at,
        error=job.error_message if job.status != JobStatus.SUCCEEDED else "",
        result_name=job.result_image.name if job.result_image else "",
        priority=job.priority,
        public=may_show_in_public(job),
    )


def _params_run(job: GenerationJob) -> dict:
    """The parameters the worker recorded running, when it recorded all of them (older jobs recorded a
    shorter set, without the seed); else those the row holds. Each is checked against the catalogue as it
    is today, so a row an older catalogue allowed answers with no parameters ({}) rather than an error."""
    ran = (job.metadata or {}).get("params") or {}
    complete = ran if set(GenerationParams.model_fields) <= set(ran) else None
    for stored in (complete, job.params):
        if stored and stored.get("seed") is not None:
            try:
                return GenerationParams.parse(stored).model_dump()
            except ParamError:
                continue
    return {}


def _concept_used(summary: dict | None) -> ConceptUsed | None:
    if not summary or summary.get("seed") is None:
        return None
    return ConceptUsed(seed=int(summary["seed"]), idea=str(summary.get("idea") or ""))


def job_outcomes(job_ids: Iterable) -> dict[uuid.UUID, JobOutcome]:
    """{job id: its outcome} for these jobs, in one query."""
    return {job.id: job_outcome(job) for job in GenerationJob.objects.filter(id__in=list(job_ids))}


def job_statuses(job_ids: Iterable) -> dict[uuid.UUID, str]:
    """{job id: status}: the cheap read for counting a set of jobs."""
    return dict(GenerationJob.objects.filter(id__in=list(job_ids)).values_list("id", "status"))


def job_result_bytes(job_id) -> bytes:
    """The result image's bytes (OSError when storage lost it)."""
    job = GenerationJob.objects.get(id=job_id)
    if not job.result_image:
        raise FileNotFoundError(f"job {job_id} has no result image")
    with job.result_image.open("rb") as handle:
        return handle.read()


def job_for_owner(owner, prefix: str) -> GenerationJob | None:
    """The owner's one job whose id starts with `prefix` (a full id or at least 8 characters)."""
    jobs = GenerationJob.objects.filter(**owner_fields(owner))
    matches = (
        list(jobs.filter(id__startswith=prefix)[:2]) if len(prefix) < 36 else list(jobs.filter(id=prefix)[:1])
    )
    return matches[0] if len(matches) == 1 else None


def first_queued_position(job_ids: Iterable) -> int | None:
    """The queue position of the first of these jobs to be claimed (None: none of them is queued)."""
    first = (
        GenerationJob.objects.filter(id__in=list(job_ids), status=JobStatus.QUEUED)
        .order_by("-priority", "created_at")
        .first()
    )
    return queue_position(first) if first is not None else None


def jobs_by_ids(job_ids: Iterable) -> list[GenerationJob]:
    """The jobs themselves, for a service of generation to act on (job_cancel, job_submit's callers)."""
    return list(GenerationJob.objects.filter(id__in=list(job_ids)))


def live_job_ids(job_ids: Iterable) -> list:
    """Those of these jobs still queued or running."""
    return list(
        GenerationJob.objects.filter(id__in=list(job_ids), status__in=LIVE_STATUSES).values_list(
            "id", flat=True
        )
    )
