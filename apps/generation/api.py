"""POST /api/generations, GET /api/generations[/{id}], POST /api/generations/{id}/cancel, and what an
owner does with a portrait afterwards: POST .../consent, POST .../again, DELETE /api/generations/{id}.

The caller is the logged-in user, else the guest session from the cookie. Only the owner (or staff)
sees a job; anyone else gets 404, exactly as for a job that does not exist.
"""

from __future__ import annotations

import json
from typing import Annotated

from ninja import File, Form, Query, Router, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.utils import check_csrf
from pydantic import WithJsonSchema

from apps.generation import (
    portraits,
    progress,
    selectors,
    services,
    submit_throttle,
    webhook_http,
    webhooks,
)
from apps.generation.errors import errors
from apps.generation.models import MAX_EXTRA_FACES, JobStatus
from apps.generation.schemas import ConsentIn, JobOut
from apps.generation.uploads import (
    IDEA_IN_OPENAPI,
    MAX_BYTES,
    SEED_IN_OPENAPI,
    check_concept_seed,
    check_extra_count,
    clean_faces,
    clean_idea,
)
from inference.params import GenerationParams, Role

router = Router(tags=["generations"])
MAX_IDEMPOTENCY_KEY = 100  # the column's length
MAX_PAGE = 100_000  # far past any visitor's history; keeps the offset inside every database's integers
MAX_PARAMS_CHARS = 4096  # every parameter of the catalogue set at once takes well under 1,000


class ApiError(HttpError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, message)
        self.code = code


def _owner(request):
    return request.user if request.user.is_authenticated else request.guest.get()


def _read_upload(upload: UploadedFile) -> bytes:
    return upload.read(MAX_BYTES + 1)  # one byte past the limit is enough to refuse it


def _params(raw: str | None) -> dict | None:
    """The `params` form field: a JSON object (its schema is GenerationParams in the OpenAPI document).

    Bounded before it is parsed (MAX_PARAMS_CHARS) and after (a flat object: each value one JSON
    scalar), so no nesting reaches the parser's or the validator's recursion."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_PARAMS_CHARS:
        message = f"params must be at most {MAX_PARAMS_CHARS} characters of JSON."
        raise ApiError(400, "invalid_params", message)
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_params", f"params must be a JSON object ({error.msg}).") from None
    except RecursionError:
        raise ApiError(400, "invalid_params", "params must be a flat JSON object, not nested.") from None
    if not isinstance(params, dict):
        raise ApiError(400, "invalid_params", "params must be a JSON object of parameter names and values.")
    nested = [name for name, value in params.items() if isinstance(value, dict | list)]
    if nested:
        message = f"params values are numbers, strings or booleans; {nested[0]} is not."
        raise ApiError(400, "invalid_params", message)
    return params


def _check_csrf(request) -> None:
    if check_csrf(request) is not None:
        message = "The security token was expired or missing; reload the page and try again."
        raise ApiError(403, "csrf_failed", message)


def _refuse_repeated_fields(request) -> None:
    """Two `face` or two `idea` parts: refused, never silently the last one."""
    for name in ("face", "idea", "params", "concept_seed", "wall_consent", "webhook_url"):
        if len(request.FILES.getlist(name)) + len(request.POST.getlist(name)) > 1:
            raise ApiError(400, "repeated_field", f"Send one {name}, not several.")


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and not (len(key) <= MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()):
        message = f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} printable ASCII characters."
        raise ApiError(400, "invalid_idempotency_key", message)
    return key


def _webhook_url(request, url: str | None) -> str:
    """A webhook needs a program's API key (a page has its websocket) and a secret to sign with."""
    if not url:
        return ""
    if _api_key(request) is None:
        message = "webhook_url is for calls made with an API key (Authorization: Bearer)."
        raise ApiError(400, "webhook_needs_api_key", message)
    try:
        url = webhook_http.check_url(url.strip())
    except webhook_http.WebhookUrlError as error:
        raise ApiError(400, "invalid_webhook_url", str(error)) from None
    if not webhooks.has_secret(request.user):
        message = "Create your webhook signing secret on the account page (Webhooks) first."
        raise ApiError(400, "webhook_secret_missing", message)
    return url


def _api_key(request):
    """The API key the request was made with (ApiKeyMiddleware), else None: a page's request."""
    return getattr(request, "api_key", None)


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
WebhookUrlField = Annotated[
    str | None,
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "maxLength": webhook_http.MAX_URL,
            "description": "API keys only: an https URL that receives the job's events, signed per the "
            "Standard Webhooks spec with the signing secret from the Webhooks page.",
        }
    ),
]
EXTRA_FACES_IN_OPENAPI = {
    "type": "array",
    "items": {"type": "string", "format": "binary"},
    "maxItems": MAX_EXTRA_FACES,
    "description": "Up to three more photos of the same person (a part each, all named extra_faces), each "
    "checked like `face`. The identity score is measured against `face`.",
}
# Merged into the generated document: `params` is JSON inside the form; `extra_faces` with its bounds
# (an annotation on a list of files would hide the list from django-ninja's multipart parser).
CREATE_OPENAPI = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "encoding": {"params": {"contentType": "application/json"}},
                "schema": {"properties": {"extra_faces": EXTRA_FACES_IN_OPENAPI}},
            }
        }
    }
}


@router.post(
    "/generations",
    response={201: JobOut, **errors(400, 402, 403, 413, 422, 429)},
    summary="Create a portrait (one token)",
    openapi_extra=CREATE_OPENAPI,
)
def generation_create(
    request,
    idea: Form[IdeaField],
    face: File[UploadedFile],
    extra_faces: list[UploadedFile] = File(None),
    wall_consent: Form[bool] = False,
    params: ParamsField = Form(None),
    concept_seed: SeedField = Form(None),
    webhook_url: WebhookUrlField = Form(None),
):
    """multipart: `face` (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side) and `idea` (1 to 4 words);
    optionally up to three `extra_faces` (more photos of the same person, each checked like `face`:
    a better likeness), `wall_consent` (true: Narcis may show the portrait on the public PhotoWall;
    false by default), and `concept_seed`, the `seed` of a concept previewed with GET /api/mecene.

    Send the CSRF token (cookie `csrftoken`) in `X-CSRFToken`; an `Idempotency-Key` header makes retries safe.

    With an API key: `webhook_url` (https) receives the job's events (`generation.started`, `.succeeded`,
    `.failed`, `.canceled`), signed per the Standard Webhooks spec with the secret from the account page.
    """
    # Cheapest first: nothing below the throttle runs for a refused attempt, and no photo is decoded
    # until the fields, the limits and the balance (read-only here) would all let the job in.
    _check_csrf(request)
    _refuse_repeated_fields(request)
    submit_throttle.count_submit(request)
    key = _idempotency_key(request)
    clean = clean_idea(idea)
    check_concept_seed(concept_seed)
    wanted = _params(params)
    more = request.FILES.getlist("extra_faces")
    check_extra_count(len(more))
    hook = _webhook_url(request, webhook_url)
    owner = _owner(request)  # a guest's session and allowance start here, at their first submit
    if key is not None and (earlier := selectors.job_by_key(owner, key)) is not None:
        return Status(201, selectors.job_public(earlier))  # a retry: its job, nothing spent
    services.job_submit_precheck(owner=owner, params=wanted, role=_role(request), api_key=_api_key(request))
    photos = clean_faces(_read_upload(face), [_read_upload(upload) for upload in more])
    job = services.job_submit(
        owner=owner,
        idea=clean,
        face=photos[0].file,
        extra_faces=[photo.file for photo in photos[1:]],
        params=wanted,
        role=_role(request),
        idempotency_key=key,
        concept_seed=concept_seed,
        wall_consent=wall_consent,
        webhook_url=hook,
        api_key=_api_key(request),
    )
    return Status(201, selectors.job_public(job))


@router.get(
    "/generations/{job_id}",
    response={200: JobOut, **errors(404)},
    summary="A job's status, progress and result",
)
def generation_detail(request, job_id: str):
    return selectors.job_public(selectors.job_for_viewer(job_id, request))


@router.get(
    "/generations", response={200: list[JobOut], **errors(422)}, summary="The caller's jobs, newest first"
)
def generation_list(
    request,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(20, ge=1, le=100),
):
    viewer = selectors.viewer(request)
    if viewer is None:
        return []  # a visitor before their first portrait: nothing to list, and no session made for it
    jobs = selectors.jobs_of(viewer)[(page - 1) * page_size :][:page_size]
    return [selectors.job_public(job) for job in jobs]


@router.post(
    "/generations/{job_id}/cancel", response={200: JobOut, **errors(403, 404)}, summary="Cancel (refunded)"
)
def generation_cancel(request, job_id: str):
    _check_csrf(request)
    job = selectors.job_for_viewer(job_id, request)
    if services.job_cancel(job=job) == JobStatus.CANCELED:
        progress.publish_final(job)  # a queued job ends here; a running one ends in its worker
    job.refresh_from_db()
    return selectors.job_public(job)


@router.post(
    "/generations/{job_id}/consent",
    response={200: JobOut, **errors(400, 403, 404, 415, 422)},
    summary="Give or withdraw consent to show it on the PhotoWall",
)
def generation_consent(request, job_id: str, body: ConsentIn):
    """`{"consent": false}` takes the portrait off the public PhotoWall at once, if staff had put it there."""
    _check_csrf(request)
    job = selectors.job_for_viewer(job_id, request, owner_only=True)
    return selectors.job_public(portraits.job_consent_set(job=job, consent=body.consent))


@router.post(
    "/generations/{job_id}/again",
    response={201: JobOut, **errors(402, 403, 404, 409, 429)},
    summary="Paint again: same photos, idea and concept, a new seed (one token)",
)
def generation_again(request, job_id: str):
    _check_csrf(request)
    key = _idempotency_key(request)
    job = selectors.job_for_viewer(job_id, request, owner_only=True)
    again = portraits.job_paint_again(
        job=job, role=_role(request), idempotency_key=key, api_key=_api_key(request)
    )
    return Status(201, selectors.job_public(again))


@router.delete(
    "/generations/{job_id}",
    response={204: None, **errors(403, 404, 409)},
    summary="Delete a portrait: its photos and result leave storage and the wall",
)
def generation_delete(request, job_id: str):
    """Only the owner; refused (409) while the portrait is queued or being painted: cancel it first.
    The token history keeps a line for it, with no image and no words."""
    _check_csrf(request)
    portraits.job_erase(job=selectors.job_for_viewer(job_id, request, owner_only=True))
    return Status(204, None)
