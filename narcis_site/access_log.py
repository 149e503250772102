"""One JSON line per HTTP request: method, path, status, duration, and who (never the cookie)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("narcis.access")


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            fields["user_id"] = user.pk
        key = getattr(request, "api_key", None)
        if key is not None:
            fields["key_prefix"] = key.prefix  # the public part: names the key, cannot be used as one
        guest = getattr(request, "guest_session_id", None)
        if guest:
            # A short prefix identifies the session in logs without being usable as a credential.
            fields["session"] = str(guest)[:8]
        level = logging.DEBUG if request.path.startswith("/static/") else logging.INFO
        logger.log(level, "request", extra=fields)
        return response
