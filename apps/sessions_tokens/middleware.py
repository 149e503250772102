"""The guest session cookie: signed, HttpOnly, SameSite=Lax, created the first time a view needs it.

Lazy on purpose: the load balancer's health probe, static files and bots that never touch a page
that needs a balance must not create sessions. Views call ``request.guest.get()``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone

from apps.sessions_tokens import allowances, api_keys, selectors, services
from apps.sessions_tokens.models import GuestSession

COOKIE_SALT = selectors.GUEST_COOKIE_SALT


class GuestSessionHandle:
    """The request's guest session: read from the cookie, or created on first use."""

    def __init__(self, request):
        self._request = request
        self._loaded = False
        self._session: GuestSession | None = None
        self.created = False
        self.stale_cookie = False

    def get(self, *, create: bool = True) -> GuestSession | None:
        if not self._loaded:
            self._session = self._from_cookie()
            self._loaded = True
        if self._session is None and create:
            self._session = services.guest_session_create(
                allowance=allowances.take_guest_allowance(self._request)
            )
            self.created = True
        if self._session is not None:
            self._request.guest_session_id = self._session.pk
        return self._session

    def _from_cookie(self) -> GuestSession | None:
        session = selectors.guest_session_from_cookies(self._request.COOKIES)
        # A cookie that names no live session (forged, expired, purged) is deleted with the response.
        self.stale_cookie = session is None and settings.GUEST_COOKIE_NAME in self._request.COOKIES
        return session

    def forget(self) -> None:
        """The session was erased: the response deletes its cookie, and this request has none now."""
        self._session, self.created, self.stale_cookie = None, False, True

    def write_cookie(self, response) -> None:
        if self.created and self._session is not None:
            max_age = max(0, int((self._session.expires_at - timezone.now()).total_seconds()))
            response.set_signed_cookie(
                settings.GUEST_COOKIE_NAME,
                str(self._session.pk),
                salt=COOKIE_SALT,
                max_age=max_age,
                httponly=True,
                samesite="Lax",
                secure=settings.COOKIE_SECURE,
            )
        elif self.stale_cookie:
            response.delete_cookie(settings.GUEST_COOKIE_NAME, samesite="Lax")


class RequestOwner:
    """Who the request acts for, its one answer: the logged-in user (an API key's user included: the key's
    middleware sets request.user), else the guest session of the cookie."""

    def __init__(self, request):
        self._request = request

    def get(self, *, create: bool = False):
        """The user or the guest session; None for a visitor with neither, unless `create` (their first
        submit) makes the guest session. Reading creates nothing."""
        user = self._request.user
        return user if user.is_authenticated else self._request.guest.get(create=create)


class GuestSessionMiddleware:
    """Sets request.guest (the cookie's session, lazily) and request.owner (RequestOwner)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.guest = GuestSessionHandle(request)
        request.owner = RequestOwner(request)
        response = self.get_response(request)
        request.guest.write_cookie(response)
        return response


class ApiKeyMiddleware:
    """`Authorization: Bearer <key>` on /api/: the request is the key's user's (no cookie session, no
    guest, no CSRF: a program holds no cookies to forge), or it is refused here with a JSON code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization")
        if header is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            key = api_keys.authenticate(header, request.method)
        except api_keys.ApiKeyRefused as refused:
            response = JsonResponse({"code": refused.code, "message": refused.message}, status=refused.status)
            if refused.status == 401:
                response["WWW-Authenticate"] = 'Bearer realm="narcis"'
            if refused.retry_after is not None:
                response["Retry-After"] = str(refused.retry_after)
            return response
        request.user = key.user
        request.api_key = key
        request._dont_enforce_csrf_checks = True  # read by Django's CSRF check, which ninja's calls too
        return self.get_response(request)
