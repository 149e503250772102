"""The landing page (the PhotoWall and the create flow), robots.txt, and the wall's cached thumbnails."""

import re

from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from apps.photowall import cache, page

# Browsers and the load balancer may keep the page but must ask again each time (a 304 from the cache
# costs next to nothing): a withdrawn consent or an unpublished photo leaves every visitor's screen at
# once, which a max-age of even a minute would delay.
PAGE_CACHE_CONTROL = "public, max-age=0, must-revalidate"
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
ROBOTS = "".join(
    f"{line}\n"
    for line in (
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /portraits/",
        "Allow: /",
    )
)
IMMUTABLE = {"public": True, "max_age": 31_536_000, "immutable": True}  # the URL names the version


@require_safe
def landing(request):
    """The same bytes for every visitor (apps/photowall/page.py), revalidated by ETag. The one exception
    is a visitor a redirect left a message for (account deleted, guest session forgotten): their page
    is rendered for them alone and never stored."""
    origin = request.build_absolute_uri("/").rstrip("/")
    if request.COOKIES.get(CookieStorage.cookie_name):  # a deleted cookie may come back empty
        response = HttpResponse(page.render(origin, messages=get_messages(request)))
        patch_cache_control(response, private=True, no_store=True)
        return response
    shared = page.landing_page(origin)
    if ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response, etag = HttpResponse(shared.gzipped), shared.gzip_etag
        response["Content-Encoding"] = "gzip"
    else:
        response, etag = HttpResponse(shared.html), shared.etag
    response["Content-Length"] = str(len(response.content))
    response["ETag"] = etag
    response["Cache-Control"] = PAGE_CACHE_CONTROL
    patch_vary_headers(response, ["Accept-Encoding"])  # the only thing the answer varies on
    return get_conditional_response(request, etag=etag, response=response)


@require_safe
def robots_txt(request):
    """Crawlers may read the landing page and the wall; the rest is private or per visitor."""
    response = HttpResponse(ROBOTS, content_type="text/plain; charset=utf-8")
    patch_cache_control(response, public=True, max_age=86400)
    return response


def _thumbnail(photo_id: int, seo_name: str) -> tuple[bytes, dict]:
    found = cache.thumbnail(photo_id)
    if found is None or found[1]["seo_name"] != seo_name:
        raise Http404
    return found


def _image_response(request, data: bytes, entry: dict) -> HttpResponse:
    etag = f'"{entry["etag"]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(data, content_type="image/jpeg")
        response["Content-Length"] = str(len(data))
    response["ETag"] = etag
    return response


@require_safe
def wall_image(request, photo_id: int, seo_name: str):
    """The photo's current thumbnail under its lasting name (links already shared): revalidated daily."""
    response = _image_response(request, *_thumbnail(photo_id, seo_name))
    patch_cache_control(response, public=True, max_age=86400)
    return response


@require_safe
def wall_image_version(request, photo_id: int, version: str, seo_name: str):
    """One version of the thumbnail, named by its etag: it never changes, so caches keep it a year; the
    page links the new name when the image changes, and an unpublished photo's name answers 404."""
    data, entry = _thumbnail(photo_id, seo_name)
    if entry["etag"] != version:
        raise Http404
    response = _image_response(request, data, entry)
    patch_cache_control(response, **IMMUTABLE)
    return response
