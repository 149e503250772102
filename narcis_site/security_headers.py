"""Content-Security-Policy and Permissions-Policy on every response (HSTS is SecurityMiddleware's).

Our pages load scripts and styles from our own static files only, images from ourselves, data: URLs
(live previews) and the results' storage (S3's presigned URLs), and talk to our own websocket. No
page uses the camera, the microphone or the location. The admin keeps inline style attributes
(Django's and ours), never inline scripts.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.core.files.storage import default_storage

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
ADMIN_PREFIX = "/admin/"


@cache
def media_origin() -> str | None:
    """The origin result URLs point at (S3 or its CDN), or None when media are served by us."""
    url = default_storage.url("csp-probe.png")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _websocket_origin(request) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


def content_security_policy(request) -> str:
    images = ["'self'", "data:", "blob:", *filter(None, [media_origin()])]
    connect = ["'self'", *filter(None, [_websocket_origin(request)])]
    styles = ["'self'", "'unsafe-inline'"] if request.path.startswith(ADMIN_PREFIX) else ["'self'"]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": styles,
        "img-src": images,
        "connect-src": connect,
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy(request))
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
