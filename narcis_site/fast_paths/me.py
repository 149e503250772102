"""A guest's GET /api/me (the landing page's account strip, one per page view) answered before Django:

- a visitor with no guest session yet gets the free tokens their first portrait will start with, the
  answer Django's view gives them (no Redis needed);
- a guest gets their session's snapshot (apps/sessions_tokens/guest_snapshot.py) in one Redis round
  trip, while the session lives.

Either way the answer carries the CSRF cookie as Django's CsrfViewMiddleware would send it after the
view's get_token(): the caller's own secret again, or a new one when they have none. Anything else (a
miss, a tombstone, an expired session, a CSRF cookie in another form, CSRF kept in sessions, Redis down)
goes on to Django unchanged, which answers from the rows and writes the snapshot back.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.crypto import get_random_string
from redis.exceptions import RedisError

from apps.sessions_tokens import guest_snapshot, selectors
from narcis_site.fast_paths.guest import Answer, Caller, GuestFastPath

SECRET = re.compile(f"[{re.escape(CSRF_ALLOWED_CHARS)}]{{{CSRF_SECRET_LENGTH}}}")

_READ = "return redis.call('HMGET', KEYS[1], 'version', 'body', 'until', 'format')"


class MeFastPath(GuestFastPath):
    path = re.compile(r"/api/me")
    needs_redis = False

    def __init__(self, app):
        super().__init__(app)
        self.enabled = self.enabled and not settings.CSRF_USE_SESSIONS

    async def answer(self, caller: Caller, match: re.Match) -> Answer | None:
        secret = _csrf_secret(caller.request.COOKIES.get(settings.CSRF_COOKIE_NAME))
        if secret is None:
            return None
        if caller.session is None:
            body = guest_snapshot.render_body(selectors.account_summary(None)).encode()
        else:
            body = await self._guest_body(caller.session)
        return None if body is None else Answer(body, [_csrf_cookie(secret)])

    async def _guest_body(self, session: str) -> bytes | None:
        script = self.script(_READ)
        if script is None:
            return None
        try:
            version, body, until, written_as = await script(keys=[guest_snapshot.session_key(session)])
        except (RedisError, OSError):
            return None  # Django answers from the rows
        if version is None or version == guest_snapshot.GONE.encode() or not until:
            return None
        if written_as != guest_snapshot.FORMAT.encode():
            return None  # another release's body: Django answers and writes this release's
        if float(until) <= time.time():
            return None  # the session expired: Django deletes its cookie
        return body


def _csrf_secret(cookie: str | None) -> str | None:
    """The secret Django's get_token() would keep: the cookie's when it holds one, a new one when there is
    no cookie; None for a cookie in any other form (Django unmasks an old 64-character token, or replaces
    a malformed one, and says so in its own way)."""
    if cookie is None:
        return get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    return cookie if SECRET.fullmatch(cookie) else None


def _csrf_cookie(secret: str) -> str:
    """The Set-Cookie value CsrfViewMiddleware writes, formatted by Django's own cookie code."""
    response = HttpResponse()
    response.set_cookie(
        settings.CSRF_COOKIE_NAME,
        secret,
        max_age=settings.CSRF_COOKIE_AGE,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
    return response.cookies[settings.CSRF_COOKIE_NAME].output(header="").strip()
