"""My portraits (/portraits/): the visitor's jobs, newest first, and what they can do with each one.

Each action is a plain form POST (CSRF-checked) that calls one service and comes back to the page with a
message; the live progress of running portraits comes over their websockets (portraits.js).
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST, require_safe
from PIL import Image

from apps.generation import portraits as portrait_services
from apps.generation import progress, selectors, services
from apps.generation.errors import Refused
from apps.generation.models import LIVE_STATUSES, GenerationJob, JobStatus
from apps.sessions_tokens.errors import TokenError
from inference.params import Role

PAGE_SIZE = 12
THUMB_SIDE = 384


@require_safe
def portrait_list(request):
    owner = request.owner.get()
    jobs = selectors.jobs_of(owner) if owner is not None else GenerationJob.objects.none()
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "cards": [_card(job) for job in page],
        "is_guest": not request.user.is_authenticated,
        "has_guest_session": owner is not None and not request.user.is_authenticated,
    }
    return render(request, "generation/portraits.html", context)


def _card(job: GenerationJob) -> dict:
    succeeded = job.status == JobStatus.SUCCEEDED and bool(job.result_image)
    return {
        "job": job,
        "live": job.status in LIVE_STATUSES,
        "result_url": job.result_image.url if succeeded else None,
        "keywords": selectors.job_keywords(job),
        "photos": selectors.photo_count(job),
        "can_paint_again": bool(job.face_image),
    }


@require_safe
def portrait_thumbnail(request, job_id):
    """A small JPEG of the portrait for the grid (the full PNG is the Download); its owner's only."""
    job = selectors.job_for_viewer(job_id, request)
    if job.status != JobStatus.SUCCEEDED or not job.result_image:
        raise Http404
    etag = f'"{job.pk}"'  # a result never changes under its job's id
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        with job.result_image.open("rb") as handle, Image.open(handle) as image:
            small = image.convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            small.save(buffer, format="JPEG", quality=85)
        response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=86400)
    return response


def _role(request) -> Role:
    return Role.STAFF if request.user.is_authenticated and request.user.is_staff else Role.VISITOR


def _consent(request, job):
    portrait_services.job_consent_set(job=job, consent=True)
    return "Thank you: our curators may now choose it for the public PhotoWall."


def _withdraw(request, job):
    portrait_services.job_consent_set(job=job, consent=False)
    return "It will not be shown on the PhotoWall; if it was there, it has been taken down."


def _again(request, job):
    portrait_services.job_paint_again(job=job, role=_role(request))
    return "Painting it again with a new seed: it is the first one below."


def _delete(request, job):
    portrait_services.job_erase(job=job)
    return "Deleted: its photos and the portrait are gone from our storage."


def _cancel(request, job):
    if services.job_cancel(job=job) == JobStatus.CANCELED:
        progress.publish_final(job)
    return "Canceled. Your token has been returned."


ACTIONS = {"consent": _consent, "withdraw": _withdraw, "again": _again, "delete": _delete, "cancel": _cancel}


@require_POST
def portrait_action(request, job_id, action: str):
    if action not in ACTIONS:
        raise Http404
    job = selectors.job_for_viewer(job_id, request, owner_only=True)
    try:
        messages.success(request, ACTIONS[action](request, job))
    except (Refused, TokenError) as error:
        messages.error(request, error.message)
    return redirect(_back(request))


def _back(request) -> str:
    """The page of the list the form was on."""
    page = request.POST.get("page", "")
    url = reverse("portraits:list")
    return f"{url}?page={page}" if page.isdigit() and page != "1" else url
