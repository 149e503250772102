"""The landing page's HTML: one copy for every visitor, rendered once per wall rotation and kept in Django's
cache (Redis in production, so every web task serves the same bytes and the same ETag).

A rotation ends when the wall cache reloads (staff publish or unpublish: the index's `loaded_at` changes)
or every ROTATION_SECONDS (another celebrity is drawn). The page is rendered without a request: no
context processor runs, so no user, CSRF token, message or balance can reach the shared copy; the
visitor's part comes from /api/me (static/narcis/account.js). Absolute URLs (canonical, og:image) use the
origin of the request that rendered it, which ALLOWED_HOSTS has vetted, and each origin has its own copy.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.template.loader import render_to_string

from apps.photowall import cache as wall_cache
from apps.photowall.selectors import wall_for_page

TEMPLATE = "photowall/landing.html"
ROTATION_SECONDS = 300  # a new celebrity every five minutes, at the same moment on every web task
DESCRIPTION = (
    "Upload a selfie, type two words such as corporate confidence, and Narcis paints an artistic "
    "portrait that still looks like you. Free guest tokens, no sign-up needed."
)


@dataclass(frozen=True)
class Page:
    html: bytes
    etag: str  # strong: a digest of the bytes, quoted
    # Compressed once per rotation, not per request: a 30 kB page fits a phone's first round trip at
    # 3 kB. Safe to compress (BREACH needs a secret in the body, and this page holds none).
    gzipped: bytes = b""

    @property
    def gzip_etag(self) -> str:
        return f'{self.etag[:-1]}-gzip"'  # another representation, another strong ETag


def _page(html: bytes) -> Page:
    etag = f'"{hashlib.sha256(html).hexdigest()[:32]}"'
    return Page(html, etag, gzip.compress(html, compresslevel=9, mtime=0))


def rotation() -> int:
    """The current rotation's number: the same on every task at the same moment."""
    return int(time.time() // ROTATION_SECONDS)


def _key(origin: str, slot: int) -> str:
    # "v2": a task of the previous release reads no entry of this one's shape (and back) in a rolling deploy.
    return f"photowall:page:v2:{slot}:{hashlib.sha256(origin.encode()).hexdigest()[:16]}"


def render(origin: str, **extra) -> bytes:
    """The page for `origin` (scheme://host) with a newly drawn wall; `extra` adds to the context
    (the one per-visitor variant: pending messages, never cached)."""
    context = {"wall": wall_for_page(), "origin": origin, "description": DESCRIPTION, **extra}
    return render_to_string(TEMPLATE, context).encode()


def landing_page(origin: str) -> Page:
    """The shared page: a cache hit costs one cache round trip (the index's version and the page in one
    get_many) and no database query; a miss renders it and stores it for the rest of the rotation."""
    key = _key(origin, rotation())
    found = cache.get_many([wall_cache.INDEX_KEY, key])
    index = found.get(wall_cache.INDEX_KEY) or wall_cache.index()
    stored = found.get(key)
    if stored is not None and stored["version"] == index["loaded_at"]:
        return stored["page"]
    html = render(origin)
    entry = {"version": index["loaded_at"], "page": _page(html)}
    # Several tasks may render the same rotation at once (each draws its celebrity): the first stored
    # wins and the others serve it, so every task answers with one ETag. A stale copy is overwritten.
    if stored is None:
        if cache.add(key, entry, timeout=2 * ROTATION_SECONDS):
            return entry["page"]
        winner = cache.get(key)
        if winner is not None and winner["version"] == entry["version"]:
            return winner["page"]
    cache.set(key, entry, timeout=2 * ROTATION_SECONDS)
    return entry["page"]
