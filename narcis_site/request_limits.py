"""What the web server refuses before the application reads a request, server-independent: the raw
answers (413, 408) and the arithmetic of a request's deadline. narcis_site.uvicorn_protocol applies them.

- A body past MAX_REQUEST_BYTES is refused with 413 as soon as its headers say so (Content-Length), or as
  soon as that many bytes arrived (chunked), and the connection is closed.
- A request that arrives too slowly gets 408 and the connection is closed: its headers within
  REQUEST_HEADER_TIMEOUT_S of its first byte; its body within as long again, plus a second for every
  REQUEST_BODY_MIN_RATE bytes that arrived (a slow phone keeps uploading, a trickle does not), and never
  past REQUEST_BODY_MAX_S (Apache's mod_reqtimeout works the same way). An idle timer that restarts at
  every byte would let a client sending a byte a minute hold a connection for ever.
"""

from __future__ import annotations

import json

from django.conf import settings

from narcis_site.api_errors import error_body


def raw_response(status: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer in the API's error shape, written by the server itself; it closes."""
    body = json.dumps(error_body(code, message)).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def too_large() -> bytes:
    limit_mb = settings.MAX_REQUEST_BYTES / 2**20
    message = f"The request is larger than {limit_mb:.0f} MB. Send smaller photos."
    return raw_response("413 Content Too Large", "body_too_large", message)


def too_slow() -> bytes:
    message = "The request arrived too slowly; check the connection and send it again."
    return raw_response("408 Request Timeout", "request_timeout", message)


def announced_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length of lower-cased header pairs, None when absent (chunked) or unreadable (the
    HTTP parser has refused that already)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestDeadline:
    """When the request being read must be in, on the event loop's clock (seconds)."""

    __slots__ = ("at", "body_until")

    def __init__(self, first_byte_at: float):
        self.at = first_byte_at + settings.REQUEST_HEADER_TIMEOUT_S
        self.body_until: float | None = None

    def body_started(self, now: float) -> None:
        """The headers are in: the body gets the same time again, from now, and no more than
        REQUEST_BODY_MAX_S in all."""
        self.at = now + settings.REQUEST_HEADER_TIMEOUT_S
        self.body_until = now + settings.REQUEST_BODY_MAX_S

    def body_arrived(self, size: int) -> None:
        """Each part of the body that arrives buys a second per REQUEST_BODY_MIN_RATE bytes."""
        if self.body_until is not None:
            self.at = min(self.at + size / settings.REQUEST_BODY_MIN_RATE, self.body_until)
