"""How daphne reads a request, set once when the ASGI application is imported (daphne exposes none of
these itself; without daphne, in tests and other ASGI servers, nothing is changed).

- Twisted, under daphne, also parses every multipart POST into `request.args` (which daphne never
  reads) before daphne sees the request: double the memory of each upload, and a body whose boundary
  does not match answered a bare 400 that never reached Django's JSON errors. Turned off.
- A body past MAX_REQUEST_BYTES is refused with 413 as soon as its headers say so (Content-Length), or
  as soon as that many bytes arrived (chunked), and the connection is closed: Twisted would otherwise
  spool all of it to a temporary file before the application could refuse it.
- A request that arrives too slowly gets 408 and the connection is closed: its headers within
  REQUEST_HEADER_TIMEOUT_S of its first byte; its body within as long again, plus a second for every
  REQUEST_BODY_MIN_RATE bytes that arrived (a slow phone keeps uploading, a trickle does not), and never
  past REQUEST_BODY_MAX_S (Apache's mod_reqtimeout works the same way). Twisted's own idle timeout
  restarts at every byte, so a client sending a byte a minute held a connection for ever.
"""

from __future__ import annotations

import json

from django.conf import settings

from narcis_site.api_errors import error_body


def _raw_response(status: str, code: str, message: str) -> bytes:
    body = json.dumps(error_body(code, message)).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _refuse(channel, status: str, code: str, message: str) -> None:
    """Answer now, with no application involved, and close: nothing more is read from this client."""
    if channel.transport is None or getattr(channel, "_narcis_refused", False):
        return
    channel._narcis_refused = True
    _cancel_deadline(channel)
    channel.transport.write(_raw_response(status, code, message))
    channel.loseConnection()  # stops reading at once; the answer is flushed, then the socket closed


def refuse_too_large(channel) -> None:
    limit_mb = settings.MAX_REQUEST_BYTES / 2**20
    message = f"The request is larger than {limit_mb:.0f} MB. Send smaller photos."
    _refuse(channel, "413 Content Too Large", "body_too_large", message)


def refuse_too_slow(channel) -> None:
    channel._narcis_deadline = None
    message = "The request arrived too slowly; check the connection and send it again."
    _refuse(channel, "408 Request Timeout", "request_timeout", message)


def _start_deadline(channel, reactor) -> None:
    """The clock of one request, from its first byte: its headers have REQUEST_HEADER_TIMEOUT_S."""
    channel._narcis_deadline = reactor.callLater(settings.REQUEST_HEADER_TIMEOUT_S, refuse_too_slow, channel)


def _body_started(channel, reactor) -> None:
    """The headers are in: the body gets the same time again, from now, and no more than
    REQUEST_BODY_MAX_S in all."""
    deadline = channel._narcis_deadline
    if deadline is not None and deadline.active():
        channel._narcis_body_until = reactor.seconds() + settings.REQUEST_BODY_MAX_S
        deadline.reset(settings.REQUEST_HEADER_TIMEOUT_S)


def _body_arrived(channel, reactor, size: int) -> None:
    """Each part of the body that arrives buys a second per REQUEST_BODY_MIN_RATE bytes."""
    deadline = channel._narcis_deadline
    if deadline is not None and deadline.active():
        later = min(deadline.getTime() + size / settings.REQUEST_BODY_MIN_RATE, channel._narcis_body_until)
        deadline.reset(max(0.0, later - reactor.seconds()))


def _cancel_deadline(channel) -> None:
    deadline = getattr(channel, "_narcis_deadline", None)
    if deadline is not None and deadline.active():
        deadline.cancel()
    channel._narcis_deadline = None


def _wrap(cls, name: str, make):
    """Replace cls.name with make(original), once (the application may be imported twice)."""
    original = getattr(cls, name)
    if getattr(original, "narcis_wrapped", False):
        return
    wrapper = make(original)
    wrapper.narcis_wrapped = True
    setattr(cls, name, wrapper)


def guard_daphne_requests() -> None:
    try:
        from daphne.http_protocol import WebRequest
        from twisted.internet import reactor
        from twisted.web.http import HTTPChannel
    except ImportError:
        return

    def request_init(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self._parsePOSTFormSubmission = False  # read by twisted.web.http.Request.requestReceived
            self._narcis_received = 0

        return __init__

    def data_received(original):
        def dataReceived(self, data):
            # The first byte of a request starts its clock; a request read whole (allContentReceived) or
            # a connection lost stops it. Between requests Twisted's idle timeout applies, as before.
            if not self._handlingRequest and getattr(self, "_narcis_deadline", None) is None:
                _start_deadline(self, reactor)
            original(self, data)

        return dataReceived

    def all_headers_received(original):
        def allHeadersReceived(self):
            if self.length is not None and self.length > settings.MAX_REQUEST_BYTES:
                self.requests[-1].content = _Discarded()  # what arrives before the close goes nowhere
                refuse_too_large(self)
                return
            _body_started(self, reactor)
            original(self)

        return allHeadersReceived

    def all_content_received(original):
        def allContentReceived(self):
            _cancel_deadline(self)
            original(self)

        return allContentReceived

    def connection_lost(original):
        def connectionLost(self, reason):
            _cancel_deadline(self)
            original(self, reason)

        return connectionLost

    def handle_content_chunk(original):
        def handleContentChunk(self, data):
            self._narcis_received += len(data)
            if self._narcis_received > settings.MAX_REQUEST_BYTES:  # chunked: no length was announced
                refuse_too_large(self.channel)
                return
            _body_arrived(self.channel, reactor, len(data))
            original(self, data)

        return handleContentChunk

    _wrap(WebRequest, "__init__", request_init)
    _wrap(WebRequest, "handleContentChunk", handle_content_chunk)
    _wrap(HTTPChannel, "dataReceived", data_received)
    _wrap(HTTPChannel, "allHeadersReceived", all_headers_received)
    _wrap(HTTPChannel, "allContentReceived", all_content_received)
    _wrap(HTTPChannel, "connectionLost", connection_lost)


class _Discarded:
    """A request body refused before it arrived: its bytes are dropped."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass
