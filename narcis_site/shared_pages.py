"""The landing page's answer kept for a second in each web process, in front of Django.

Django already renders `/` once per wall rotation (apps/photowall/page.py), but each request still paid
Django's middleware stack and a cache round trip for the same bytes. Here the whole answer Django gave
(status, headers, body) is replayed for SHARED_PAGE_SECONDS to requests that would get the same one:
same path, method, host, scheme and gzip acceptance, and no per-visitor cookie (the one-off page with a
message is Django's). Only an answer that says so is kept: a 200 marked `public`, with an ETag and no
Set-Cookie. An `If-None-Match` that names its ETag gets a 304 with the same headers, as Django's
conditional response would. A change on the wall reaches visitors at most SHARED_PAGE_SECONDS later
(plus the one request that asks Django again meanwhile).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http.cookie import parse_cookie

from narcis_site.access_log import log_request

SHARED_PAGE_SECONDS = 1.0
STALE_LIMIT_SECONDS = 10.0
SHARED_PATHS = frozenset({"/"})
_DROPPED_IN_304 = {b"content-type", b"content-length", b"content-encoding"}


class SharedPageCache:
    def __init__(self, app, *, seconds: float = SHARED_PAGE_SECONDS, paths=SHARED_PATHS):
        self.app, self.seconds, self.paths = app, seconds, paths
        self._answers: dict[tuple, tuple[float, int, list, bytes, bytes]] = {}
        self._asking: set[tuple] = set()  # keys whose answer is being asked of Django now

    async def __call__(self, scope, receive, send):
        key = self._key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        kept = self._answers.get(key)
        age = time.monotonic() - kept[0] if kept is not None else None
        # Past its second, one request asks Django again while the others are still given the kept one
        # (for STALE_LIMIT_SECONDS at most): a refresh never sends a crowd through Django at once.
        fresh = age is not None and (
            age < self.seconds or (key in self._asking and age < STALE_LIMIT_SECONDS)
        )
        if fresh:
            status = await _replay(send, kept, _header(scope, b"if-none-match"), scope["method"] == "HEAD")
            log_request(scope["method"], scope["path"], status, started, shared_page=True)
            return None
        self._asking.add(key)
        try:
            await self.app(scope, receive, self._recorder(key, send))
        finally:
            self._asking.discard(key)
        return None

    def _key(self, scope) -> tuple | None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["path"] not in self.paths
        ):
            return None
        cookies = parse_cookie(_header(scope, b"cookie").decode("latin-1"))
        if cookies.get(CookieStorage.cookie_name):  # a message waits for this visitor: their own page
            return None
        scheme = scope.get("scheme", "http")
        if settings.SECURE_PROXY_SSL_HEADER:  # behind the ALB the scheme is its header's (settings.py)
            scheme = "https" if _header(scope, b"x-forwarded-proto") == b"https" else "http"
        gzip = b"gzip" in _header(scope, b"accept-encoding")
        return (scope["path"], scope["method"], _header(scope, b"host"), scheme, gzip)

    def _recorder(self, key: tuple, send):
        start: dict = {}
        body = bytearray()

        async def recording_send(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body") and _shareable(start):
                    etag = next(v for n, v in start["headers"] if n.lower() == b"etag")
                    self._answers[key] = (
                        time.monotonic(),
                        start["status"],
                        list(start["headers"]),
                        etag,
                        bytes(body),
                    )
            await send(message)

        return recording_send


def _header(scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key.lower() == name), b"")


def _shareable(start: dict) -> bool:
    if start.get("status") != 200:
        return False
    names = {name.lower(): value for name, value in start["headers"]}
    return b"etag" in names and b"set-cookie" not in names and b"public" in names.get(b"cache-control", b"")


async def _replay(send, kept, if_none_match: bytes, head: bool) -> int:
    _, status, headers, etag, body = kept
    if etag in [tag.strip() for tag in if_none_match.split(b",")] or if_none_match.strip() == b"*":
        headers = [(name, value) for name, value in headers if name.lower() not in _DROPPED_IN_304]
        status, body = 304, b""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
    return status
