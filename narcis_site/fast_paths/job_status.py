"""A guest's job-status poll (GET /api/generations/<id>) answered from the status snapshot
(status_snapshot.py) in one Redis round trip, before Django's middleware, view and ORM.

It answers only what it can prove, with the headers Django's stack would add: a GET from an allowed
Host carrying the guest cookie (its signature checked by Django's own signer), no log-in session cookie
and no Authorization header (accounts, staff and API keys with their rate limits stay Django's), and a
snapshot whose owner is that guest session (a constant-time compare) while the session lives.
Everything else (a miss, a tombstone, another owner, an expired session, Redis down) goes on to Django
unchanged, which answers from the row and writes the snapshot back.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
import re
import time
import uuid

from django.conf import settings
from django.core import signing
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from apps.generation import eta, status_snapshot
from apps.generation.models import JobStatus
from apps.generation.selectors import position_from_counts
from apps.sessions_tokens.selectors import GUEST_COOKIE_SALT
from narcis_site.security_headers import PERMISSIONS_POLICY, content_security_policy

logger = logging.getLogger("narcis.access")  # the access log's own lines, as AccessLogMiddleware writes them

PATH = re.compile(r"/api/generations/([0-9a-fA-F-]{36})")  # a UUID's usual spelling; any other is Django's

# KEYS: the job's hash, the ETA mean, every queue (ascending priority). ARGV: each queue's priority.
_READ = """
local s = redis.call('HMGET', KEYS[1], 'status', 'owner', 'owner_until', 'body', 'priority', 'score')
if not s[1] then return false end
if s[1] ~= 'queued' then return {s[1], s[2], s[3], s[4]} end
local mine, same, higher = tonumber(s[5]), 0, 0
for i = 3, #KEYS do
  local p = tonumber(ARGV[i - 2])
  if p == mine then same = redis.call('ZCOUNT', KEYS[i], '-inf', '(' .. s[6])
  elseif p > mine then higher = higher + redis.call('ZCARD', KEYS[i]) end
end
return {s[1], s[2], s[3], s[4], s[5], tostring(same), tostring(higher), redis.call('GET', KEYS[2])}
"""


class StatusFastPath:
    """ASGI middleware in front of Django's HTTP application."""

    def __init__(self, app):
        self.app = app
        self.enabled = status_snapshot.enabled()
        self._signer = signing.get_cookie_signer(salt=settings.GUEST_COOKIE_NAME + GUEST_COOKIE_SALT)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._script = None

    async def __call__(self, scope, receive, send):
        if self.enabled and scope["type"] == "http" and scope["method"] == "GET":
            match = PATH.fullmatch(scope["path"])
            if match is not None:
                started = time.perf_counter()
                answer = await self._answer(scope, match.group(1))
                if answer is not None:
                    await _send_json(send, *answer)
                    _log(scope["path"], answer[2], started)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope, spelled: str):
        """(body, headers, session) for the owner's poll, or None: Django decides."""
        try:
            job_id = uuid.UUID(spelled)
        except ValueError:
            return None
        request = ASGIRequest(scope, io.BytesIO())
        if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None
        cookie = request.COOKIES.get(settings.GUEST_COOKIE_NAME)
        if not cookie:
            return None
        try:
            session = self._signer.unsign(cookie)
            request.get_host()  # ALLOWED_HOSTS, as Django checks it
        except (signing.BadSignature, DisallowedHost):
            return None
        try:
            reply = await self._read(job_id)
        except (RedisError, OSError):
            return None  # Django answers from the row
        body = _owner_body(reply, f"guest:{session}")
        return None if body is None else (body, _headers(request), session)

    async def _read(self, job_id: uuid.UUID):
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a client belongs to the event loop it was made in
            client = Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            self._script, self._loop = client.register_script(_READ), loop
        keys = [status_snapshot.job_key(job_id), status_snapshot.ETA_MEAN_KEY]
        return await self._script(keys=keys + status_snapshot.QUEUE_KEYS, args=status_snapshot.PRIORITIES)


def _owner_body(reply, owner: str) -> bytes | None:
    """The JobOut body when the snapshot is there, not a tombstone, this owner's and current."""
    if not reply or reply[0] == status_snapshot.GONE.encode() or not reply[3]:
        return None
    if not hmac.compare_digest(reply[1], owner.encode()):
        return None
    if reply[2] and float(reply[2]) <= time.time():
        return None  # the guest session expired: Django says so
    if reply[0] != JobStatus.QUEUED.value.encode():
        return reply[3]
    if reply[7] is None:
        return None  # the ETA mean is not known yet: Django computes it and stores it
    position = position_from_counts(int(reply[4]), int(reply[5]), int(reply[6]))
    mean = float(reply[7]) if reply[7] else None
    document = json.loads(reply[3])
    document["queue_position"] = position
    document["eta_seconds"] = eta.eta_from_mean(mean, position)
    return json.dumps(document).encode()


def _headers(request) -> list[tuple[bytes, bytes]]:
    """What Django's middleware would add to this JSON response (tests/apps/generation/
    test_status_route.py compares the two, header by header)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Vary": "Cookie",
        "X-Frame-Options": settings.X_FRAME_OPTIONS,
        "Content-Security-Policy": content_security_policy(request),
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if settings.SECURE_REFERRER_POLICY:
        headers["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    if settings.SECURE_HSTS_SECONDS and request.is_secure():
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers["Strict-Transport-Security"] = hsts
    return [(name.encode(), value.encode()) for name, value in headers.items()]


async def _send_json(send, body: bytes, headers: list, session: str) -> None:
    headers = [*headers, (b"Content-Length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log(path: str, session: str, started: float) -> None:
    fields = {"method": "GET", "path": path, "status": 200, "session": session[:8], "fast_path": True}
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("request", extra=fields)
