"""What every fast path shares: who is asking (a guest, proved by Django's own signer, or a visitor with
no session yet), the headers Django's middleware adds to a JSON answer (by that middleware's own code),
one Redis client per event loop, and the access-log line.

A request is a guest's only when it is a GET from an allowed Host with no log-in session cookie and no
Authorization header: accounts, staff and API keys (their rate limits included) stay Django's.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.cache import patch_vary_headers
from redis.asyncio import Redis

from apps.sessions_tokens.selectors import GUEST_COOKIE_SALT
from narcis_site.access_log import log_request
from narcis_site.security_headers import SecurityHeadersMiddleware


@dataclass(frozen=True)
class Caller:
    """A request a fast path may answer: `session` is the guest session its signed cookie names, or None
    for a visitor who has none yet."""

    request: ASGIRequest
    session: str | None


@dataclass(frozen=True)
class Answer:
    """A 200 JSON body, plus the Set-Cookie values Django would send with it."""

    body: bytes
    cookies: list[str] = field(default_factory=list)


class GuestFastPath:
    """ASGI middleware in front of Django's HTTP application. A subclass names its `path` and answers in
    `answer()`; None (or any request that is not a guest's GET) goes on to Django."""

    path: re.Pattern
    needs_redis = True  # False: some answers need no snapshot (a visitor without a session)

    def __init__(self, app):
        self.app = app
        self.redis_url = settings.REDIS_URL
        self.enabled = bool(self.redis_url) or not self.needs_redis
        self._signer = signing.get_cookie_signer(salt=settings.GUEST_COOKIE_NAME + GUEST_COOKIE_SALT)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Redis | None = None
        self._scripts: dict = {}
        self._headers = DjangoHeaders()

    async def __call__(self, scope, receive, send):
        if self.enabled and scope["type"] == "http" and scope["method"] == "GET":
            match = self.path.fullmatch(scope["path"])
            if match is not None:
                started = time.perf_counter()
                caller = self._caller(scope)
                answer = None if caller is None else await self.answer(caller, match)
                if answer is not None:
                    await _send(send, answer, self._headers.for_request(caller.request))
                    who = {"session": caller.session[:8]} if caller.session else {}  # never the cookie
                    log_request("GET", scope["path"], 200, started, fast_path=True, **who)
                    return
        await self.app(scope, receive, send)

    async def answer(self, caller: Caller, match: re.Match) -> Answer | None:
        raise NotImplementedError

    def _caller(self, scope) -> Caller | None:
        request = ASGIRequest(scope, io.BytesIO())
        if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None
        try:
            request.get_host()  # ALLOWED_HOSTS, as Django checks it
        except DisallowedHost:
            return None
        cookie = request.COOKIES.get(settings.GUEST_COOKIE_NAME)
        if cookie is None:
            return Caller(request, None)
        try:
            return Caller(request, self._signer.unsign(cookie))
        except signing.BadSignature:
            return None  # Django deletes a forged or stale cookie

    def script(self, source: str):
        """This event loop's handle on a Lua script (EVALSHA, loaded on first use: a client belongs to the
        loop it was made in); None without Redis."""
        if not self.redis_url:
            return None
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            client = Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self._loop, self._client, self._scripts = loop, client, {}
        if source not in self._scripts:
            self._scripts[source] = self._client.register_script(source)
        return self._scripts[source]


class DjangoHeaders:
    """The headers Django's middleware adds to a JSON answer, computed by that middleware itself (an empty
    response through SecurityMiddleware, XFrameOptionsMiddleware and ours), plus the Vary that reading the
    session cookie adds: a setting changed later changes both answers alike."""

    def __init__(self):
        self._security = SecurityMiddleware(_unused)
        self._frames = XFrameOptionsMiddleware(_unused)

    def for_request(self, request) -> list[tuple[bytes, bytes]]:
        response = HttpResponse(content_type="application/json; charset=utf-8")
        patch_vary_headers(response, ("Cookie",))
        response = self._security.process_response(request, response)
        response = self._frames.process_response(request, response)
        response = SecurityHeadersMiddleware(lambda _: response)(request)
        return [(name.encode(), value.encode()) for name, value in response.items()]


def _unused(request):
    raise AssertionError("only the middleware's response hooks run here")


async def _send(send, answer: Answer, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"Content-Length", str(len(answer.body)).encode())]
    headers += [(b"Set-Cookie", cookie.encode("ascii")) for cookie in answer.cookies]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
