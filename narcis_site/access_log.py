"""One JSON line per HTTP request: method, path, status, duration, and who (never the cookie)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("narcis.access")


def log_request(method: str, path: str, status: int, started: float, **fields) -> None:
    """The one shape of an access-log line: Django's requests (below) and the answers given in front of
    it (narcis_site.shared_pages, narcis_site.fast_paths) alike. `started`: time.perf_counter()."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    level = logging.DEBUG if path.startswith("/static/") else logging.INFO
    line = {"method": method, "path": path, "status": status, "duration_ms": duration_ms, **fields}
    logger.log(level, "request", extra=line)


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        fields = {}
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
        log_request(request.method, request.path, response.status_code, started, **fields)
        return response
