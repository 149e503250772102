"""POST /api/generations, GET /api/generations[/{id}], POST /api/generations/{id}/cancel.

The caller is the logged-in user, else the guest session from the cookie. Only the owner (or staff)
sees a job; anyone else gets 404, exactly as for a job that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from ninja import File, Form, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.utils import check_csrf
from pydantic import WithJsonSchema

from apps.generation import progress, selectors, services
from apps.generation.errors import errors
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.uploads import (
    IDEA_IN_OPENAPI,
    MAX_BYTES,
    SEED_IN_OPENAPI,
    check_concept_seed,
    check_face,
    clean_idea,
    clean_photo,
)
from inference.params import GenerationParams, Role

router = Router(tags=["generations"])
MAX_IDEMPOTENCY_KEY = 100  # the column's length
MAX_PAGE = 100_000  # far past any visitor's history; keeps the offset inside every database's integers


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


def _params(raw: str | None) -> dict | None:
    """The `params` form field: a JSON object (its schema is GenerationParams in the OpenAPI document)."""
    if raw is None or not raw.strip():
        return None
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_params", f"params must be a JSON object ({error.msg}).") from None
    if not isinstance(params, dict):
        raise ApiError(400, "invalid_params", "params must be a JSON object of parameter names and values.")
    return params


def _check_csrf(request) -> None:
    if check_csrf(request) is not None:
        message = "The security token was expired or missing; reload the page and try again."
        raise ApiError(403, "csrf_failed", message)


def _refuse_repeated_fields(request) -> None:
    """Two `face` or two `idea` parts: refused, never silently the last one."""
    for name in ("face", "idea", "params", "concept_seed"):
        if len(request.FILES.getlist(name)) + len(request.POST.getlist(name)) > 1:
            raise ApiError(400, "repeated_field", f"Send one {name}, not several.")


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and not (len(key) <= MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()):
        message = f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} printable ASCII characters."
        raise ApiError(400, "invalid_idempotency_key", message)
    return key


def _role(request) -> Role:
    return Role.STAFF if request.user.is_authenticated and request.user.is_staff else Role.VISITOR


# For the OpenAPI document, what the form fields accept; the view's own checks give the friendly 400s.
# `params` travels as a JSON text part of the multipart body: the document shows the object it holds.
IdeaField = Annotated[str, WithJsonSchema(IDEA_IN_OPENAPI)]
SeedField = Annotated[int | None, WithJsonSchema({**SEED_IN_OPENAPI, "title": "Concept Seed"})]
ParamsField = Annotated[
    str | None,
    WithJsonSchema(
        {
            # One alternative under anyOf: django-ninja would otherwise flatten a nested object's
            # fields into the form's own.
            "anyOf": [GenerationParams.model_json_schema()],
            "description": "Staff and operators only: generation parameters, as a JSON object. Omitted "
            "fields take the workers' defaults; the job stores them all, resolved.",
        }
    ),
]
PARAMS_AS_JSON = {
    "requestBody": {
        "content": {"multipart/form-data": {"encoding": {"params": {"contentType": "application/json"}}}}
    }
}


@router.post(
    "/generations",
    response={201: JobOut, **errors(400, 402, 403, 413, 422, 429)},
    summary="Create a portrait (one token)",
    openapi_extra=PARAMS_AS_JSON,
)
def generation_create(
    request,
    idea: Form[IdeaField],
    face: File[UploadedFile],
    params: ParamsField = Form(None),
    concept_seed: SeedField = Form(None),
):
    """multipart: `face` (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side) and `idea` (1 to 4 words);
    optionally `concept_seed`, the `seed` of a concept previewed with GET /api/mecene, to paint that one.

    Send the CSRF token (cookie `csrftoken`) in `X-CSRFToken`; an `Idempotency-Key` header makes retries safe.
    """
    _check_csrf(request)
    _refuse_repeated_fields(request)
    key = _idempotency_key(request)
    owner = _owner(request)
    clean = clean_idea(idea)
    check_concept_seed(concept_seed)
    photo = clean_photo(_read_upload(face))
    check_face(photo)
    job = services.job_submit(
        owner=owner,
        idea=clean,
        face=photo.file,
        params=_params(params),
        role=_role(request),
        idempotency_key=key,
        concept_seed=concept_seed,
    )
    return Status(201, _job_out(job))


@router.get(
    "/generations/{job_id}",
    response={200: JobOut, **errors(404)},
    summary="A job's status, progress and result",
)
def generation_detail(request, job_id: str):
    return _job_out(selectors.job_for_viewer(job_id, request))


@router.get(
    "/generations", response={200: list[JobOut], **errors(422)}, summary="The caller's jobs, newest first"
)
def generation_list(
    request,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(20, ge=1, le=100),
):
    jobs = selectors.jobs_of(_owner(request))[(page - 1) * page_size :][:page_size]
    return [_job_out(job) for job in jobs]


@router.post(
    "/generations/{job_id}/cancel", response={200: JobOut, **errors(403, 404)}, summary="Cancel (refunded)"
)
def generation_cancel(request, job_id: str):
    _check_csrf(request)
    job = selectors.job_for_viewer(job_id, request)
    if services.job_cancel(job=job) == JobStatus.CANCELED:
        progress.publish_final(job)  # a queued job ends here; a running one ends in its worker
    job.refresh_from_db()
    return _job_out(job)
