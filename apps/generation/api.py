"""POST /api/generations, GET /api/generations[/{id}], POST /api/generations/{id}/cancel.

The caller is the logged-in user, else the guest session from the cookie. Only the owner (or staff)
sees a job; anyone else gets 404, exactly as for a job that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.utils import check_csrf

from apps.generation import progress, selectors, services
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.generation.uploads import MAX_BYTES, check_concept_seed, clean_idea, clean_photo
from inference.portrait.pipeline import ParamError, PortraitParams

router = Router(tags=["generations"])


class ApiError(HttpError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, message)
        self.code = code


class ProgressOut(Schema):
    stage: str
    step: int
    total: int
    percent: float


class JobOut(Schema):
    id: str
    status: str
    idea: str
    created_at: dt.datetime
    progress: ProgressOut
    queue_position: int | None = None
    eta_seconds: float | None = None
    result_url: str | None = None
    error: str | None = None
    prompt: str | None = None  # the mecene prompt, once painted


def _owner(request):
    return request.user if request.user.is_authenticated else request.guest.get()


def _job_out(job: GenerationJob) -> dict:
    position = selectors.queue_position(job) if job.status == JobStatus.QUEUED else None
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
        "eta_seconds": selectors.eta_seconds(position) if position is not None else None,
        "result_url": job.result_image.url if job.result_image else None,  # presigned on S3
        "error": job.error_message or None,
        "prompt": job.prompt or None,
    }


def _read_upload(face: UploadedFile) -> bytes:
    return face.read(MAX_BYTES + 1)  # one byte past the limit is enough to refuse it


def _params(request, raw: str | None) -> dict:
    if not raw:
        return {}
    if not request.user.is_authenticated or not request.user.is_staff:
        raise ApiError(403, "params_staff_only", "Only staff and operators can set generation parameters.")
    try:
        params = json.loads(raw)
        PortraitParams(**params).validate()
    except (json.JSONDecodeError, TypeError) as error:
        raise ApiError(
            400, "invalid_params", f"params must be a JSON object of known fields ({error})."
        ) from None
    except ParamError as error:
        raise ApiError(400, "invalid_params", error.message) from None
    return params


def _check_limits(owner) -> None:
    recent, queued = selectors.recent_and_queued(owner, since=timezone.now() - dt.timedelta(minutes=1))
    if recent >= settings.GENERATIONS_PER_MINUTE:
        raise ApiError(429, "rate_limited", "You are creating portraits very quickly. Please wait a minute.")
    if queued >= settings.GENERATIONS_MAX_QUEUED:
        raise ApiError(429, "too_many_queued", "You already have portraits waiting. Let them finish first.")


@router.post("/generations", response={201: JobOut}, summary="Create a portrait (one token)")
def generation_create(
    request,
    idea: Form[str],
    face: File[UploadedFile],
    params: Form[str | None] = None,
    concept_seed: Form[int | None] = None,
):
    """multipart: `face` (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side) and `idea` (1 to 4 words);
    optionally `concept_seed`, the `seed` of a concept previewed with GET /api/mecene, to paint that one.

    Send the CSRF token (cookie `csrftoken`) in `X-CSRFToken`; an `Idempotency-Key` header makes retries safe.
    """
    if check_csrf(request) is not None:
        raise ApiError(403, "csrf_failed", "Reload the page and try again (the security token was missing).")
    owner = _owner(request)
    clean = clean_idea(idea)
    check_concept_seed(concept_seed)
    photo = clean_photo(_read_upload(face))
    job_params = _params(request, params)
    key = request.headers.get("Idempotency-Key") or None
    if key is None or not selectors.job_by_key(owner, key):
        _check_limits(owner)
    priority = (
        Priority.OPERATOR if request.user.is_authenticated and request.user.is_staff else Priority.VISITOR
    )
    job = services.job_submit(
        owner=owner,
        idea=clean,
        face=photo.file,
        params=job_params,
        priority=priority,
        idempotency_key=key,
        concept_seed=concept_seed,
        batch_key=hashlib.sha1(json.dumps(job_params, sort_keys=True).encode()).hexdigest()[:16],
    )
    return Status(201, _job_out(job))


@router.get("/generations/{job_id}", response=JobOut, summary="A job's status, progress and result")
def generation_detail(request, job_id: str):
    return _job_out(selectors.job_for_viewer(job_id, request))


@router.get("/generations", response=list[JobOut], summary="The caller's jobs, newest first")
def generation_list(request, page: int = 1, page_size: int = 20):
    page_size = max(1, min(page_size, 100))
    jobs = selectors.jobs_of(_owner(request))[(max(page, 1) - 1) * page_size :][:page_size]
    return [_job_out(job) for job in jobs]


@router.post("/generations/{job_id}/cancel", response=JobOut, summary="Cancel (refunded)")
def generation_cancel(request, job_id: str):
    if check_csrf(request) is not None:
        raise ApiError(403, "csrf_failed", "Reload the page and try again (the security token was missing).")
    job = selectors.job_for_viewer(job_id, request)
    if services.job_cancel(job=job) == JobStatus.CANCELED:
        progress.publish_final(job)  # a queued job ends here; a running one ends in its worker
    job.refresh_from_db()
    return _job_out(job)
