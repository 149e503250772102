"""The landing page (the PhotoWall and the create flow) and the wall's cached thumbnails."""

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from apps.photowall import cache
from apps.photowall.selectors import wall_for_page
from apps.sessions_tokens import selectors as token_selectors


@ensure_csrf_cookie  # the create flow's POST echoes it
def landing(request):
    context = {
        "account": token_selectors.account_summary(request.owner.get()),  # reading creates nothing
        "wall": wall_for_page(),
    }
    return render(request, "photowall/landing.html", context)


@require_safe
def wall_image(request, photo_id: int, seo_name: str):
    found = cache.thumbnail(photo_id)
    if found is None or found[1]["seo_name"] != seo_name:
        raise Http404
    data, entry = found
    etag = f'"{entry["etag"]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(data, content_type="image/jpeg")
        response["Content-Length"] = str(len(data))
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=86400)
    return response
