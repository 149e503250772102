"""POST /api/generations, GET /api/generations[/{id}], POST /api/generations/{id}/cancel, and what an
owner does with a portrait afterwards: POST .../consent, POST .../again, DELETE /api/generations/{id};
POST /api/uploads, a photo sent ahead of a JSON submission.

The caller is the logged-in user, else the guest session from the cookie. Only the owner (or staff)
sees a job; anyone else gets 404, exactly as for a job that does not exist.
"""

from __future__ import annotations

from ninja import File, Query, Router, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.utils import check_csrf

from apps.generation import (
    eta,
    job_params,
    photo_uploads,
    portraits,
    progress,
    selectors,
    services,
    status_snapshot,
    submission,
    submit_throttle,
    webhook_http,
    webhooks,
)
from apps.generation.errors import errors
from apps.generation.models import JobStatus
from apps.generation.schemas import ConsentIn, JobOut, UploadOut
from apps.generation.uploads import MAX_BYTES, check_concept_seed, clean_faces, clean_idea
from inference.params import Role

router = Router(tags=["generations"])
MAX_IDEMPOTENCY_KEY = 100  # the column's length
MAX_PAGE = 100_000  # far past any visitor's history; keeps the offset inside every database's integers


class ApiError(HttpError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, message)
        self.code = code


def _check_csrf(request) -> None:
    if check_csrf(request) is not None:
        message = "The security token was expired or missing; reload the page and try again."
        raise ApiError(403, "csrf_failed", message)


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


@router.post(
    "/generations",
    response={201: JobOut, **errors(400, 402, 403, 413, 415, 422, 429)},
    summary="Create a portrait (one token)",
    openapi_extra={"requestBody": submission.openapi_request_body()},
)
def generation_create(request):
    """`face` (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a side) and `idea` (1 to 4 words); optionally up to
    three `extra_faces` (more photos of the same person, each checked like `face`: a better likeness),
    `wall_consent` (true: Narcis may show the portrait on the public PhotoWall; false by default), and
    `concept_seed`, the `seed` of a concept previewed with GET /api/mecene (or a job's
    `outcome.concept.seed`).

    Two forms, one schema: multipart/form-data (photos as file parts, `params` a JSON part: the page),
    or application/json (each photo a `data:` URI or the `id` of POST /api/uploads: programs).

    Send the CSRF token (cookie `csrftoken`) in `X-CSRFToken`; an `Idempotency-Key` header makes retries safe.

    With an API key: `webhook_url` (https) receives the job's events (`generation.started`, `.succeeded`,
    `.failed`, `.canceled`), signed per the Standard Webhooks spec with the secret from the account page.
    """
    # Cheapest first: nothing below the throttle runs for a refused attempt, and no photo is decoded
    # until the fields, the limits and the balance (read-only here) would all let the job in.
    _check_csrf(request)
    submit_throttle.count_submit(request)
    sent = submission.parse(request)
    key = _idempotency_key(request)
    fields = sent.fields
    clean = clean_idea(fields.idea)
    check_concept_seed(fields.concept_seed)
    role, api_key = _role(request), _api_key(request)
    params = job_params.resolve(fields.params, role=role, job_id=None)  # the one validation
    hook = _webhook_url(request, fields.webhook_url)
    owner = request.owner.get(create=True)  # a guest's session and allowance start at their first submit
    if key is not None and (earlier := selectors.job_by_key(owner, key)) is not None:
        return Status(201, selectors.job_public(earlier))  # a retry: its job, nothing spent
    services.job_submit_precheck(owner=owner, role=role, api_key=api_key)
    photos = photo_uploads.submitted_photos(owner=owner, sources=sent.photos)
    job = services.job_submit(
        owner=owner,
        idea=clean,
        face=photos[0],
        extra_faces=photos[1:],
        params=params,
        role=role,
        idempotency_key=key,
        concept_seed=fields.concept_seed,
        wall_consent=fields.wall_consent,
        webhook_url=hook,
        api_key=api_key,
        uploads=[s.upload_id for s in sent.photos if s.upload_id is not None],
    )
    return Status(201, selectors.job_public(job))


@router.post(
    "/uploads",
    response={201: UploadOut, **errors(400, 403, 413, 422, 429)},
    summary="Send a photo ahead of its submission",
)
def upload_create(request, photo: File[UploadedFile]):
    """multipart `photo`, checked like a submission's `face` (JPEG, PNG or WebP, ≤ 10 MB, ≤ 4096 px a
    side, a face in it). Name its `id` as `face` or in `extra_faces` of a JSON POST /api/generations
    before `expires_at`; only you can. A submission uses it up; an unused one is deleted once it expires."""
    _check_csrf(request)
    submit_throttle.count_submit(request)
    cleaned = clean_faces(photo.read(MAX_BYTES + 1))[0]
    upload = photo_uploads.upload_create(owner=request.owner.get(create=True), photo=cleaned)
    return Status(201, {"id": str(upload.id), "expires_at": upload.expires_at})


@router.get(
    "/generations/{job_id}",
    response={200: JobOut, **errors(404)},
    summary="A job's status, progress and result",
)
def generation_detail(request, job_id: str):
    """Guests' polls are mostly answered from the job's status snapshot before they reach this view
    (narcis_site/fast_paths/job_status.py); this view answers the rest from the row, and writes the
    snapshot a poll missed."""
    job = selectors.job_for_viewer(job_id, request)
    public = selectors.job_public(job)
    mean = eta.mean_run_seconds() if job.status == JobStatus.QUEUED else None
    status_snapshot.store_if_absent(job, eta_mean=mean)
    return public


@router.get(
    "/generations", response={200: list[JobOut], **errors(422)}, summary="The caller's jobs, newest first"
)
def generation_list(
    request,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(20, ge=1, le=100),
):
    viewer = request.owner.get()
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
