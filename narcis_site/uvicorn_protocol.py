"""uvicorn's httptools protocol with the protections the web needs before the application runs
(narcis_site.request_limits says which), and `Connection: close` on every answer while the process
drains (narcis_site.drain); and its websocket protocol, with a 503 for a handshake the drain ends.
uvicorn itself has no header or body timeout (only the keep-alive one, between requests) and no body
limit: it hands the app every byte it receives.

uvicorn starts the application as soon as a request's headers are in and feeds it the body as it
arrives; a request refused after that point is shown to the application as a disconnect, so it answers
nothing, and the server's own answer is the only one the client gets.
"""

from __future__ import annotations

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from narcis_site import request_limits
from narcis_site.drain import DRAINING

# After a refusal the server half-closes and reads (and drops) what the client still sends, this long at
# most, as nginx's lingering close does: closing a socket with unread data sends a reset, and the client
# (a browser mid-upload) would see "connection reset" instead of the answer.
LINGER_S = 2.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline: request_limits.RequestDeadline | None = None
        self.deadline_timer = None
        self.body_received = 0
        self.refused = False
        self.linger_timer = None

    # The clock: one timer a request, re-armed only when it fires early (the body moved the deadline).
    def _arm(self) -> None:
        self.deadline_timer = self.loop.call_at(self.deadline.at, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self.deadline_timer = None
        if self.deadline is None:
            return
        if self.loop.time() < self.deadline.at:
            self._arm()
        else:
            self._refuse(request_limits.too_slow())

    def _stop_clock(self) -> None:
        if self.deadline_timer is not None:
            self.deadline_timer.cancel()
        self.deadline_timer, self.deadline = None, None

    def _refuse(self, answer: bytes) -> None:
        """Answer now and close: nothing more of this client's is parsed."""
        if self.refused or self.transport.is_closing():
            return
        self.refused = True
        self._stop_clock()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # the application already has this request
            if cycle.response_started:  # it answered without waiting for the body: only close
                self.transport.close()
                return
            cycle.disconnected = True  # its receive() says http.disconnect; whatever it sends is dropped
            cycle.message_event.set()
        self.transport.write(answer)
        self.transport.write_eof()  # the answer, then the end of what we send
        self.transport.resume_reading()  # the body, were it paused for the application, is now dropped
        self.linger_timer = self.loop.call_later(LINGER_S, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # lingering: dropped unread
        super().data_received(data)

    # httptools' callbacks, in the order of a request.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.refused:
            return
        self.body_received = 0
        self.deadline = request_limits.RequestDeadline(self.loop.time())  # its first byte: the clock starts
        self._arm()

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        length = request_limits.announced_length(self.headers)
        if length is not None and length > settings.MAX_REQUEST_BYTES:
            self._refuse(request_limits.too_large())  # before the application sees it
            return
        super().on_headers_complete()
        if self.parser.should_upgrade():
            self._stop_clock()  # a websocket: its own protocol takes the connection over
            return
        if self.deadline is not None:
            self.deadline.body_started(self.loop.time())
        if DRAINING.is_set() and self.cycle.scope is self.scope:
            self.cycle.keep_alive = False  # the answer says Connection: close, and the socket closes

    def on_body(self, body: bytes) -> None:
        if self.refused:
            return  # the rest of a chunk already read when the request was refused
        self.body_received += len(body)
        if self.body_received > settings.MAX_REQUEST_BYTES:  # chunked: no length was announced
            self._refuse(request_limits.too_large())
            return
        if self.deadline is not None:
            self.deadline.body_arrived(len(body))
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        self._stop_clock()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        super().connection_lost(exc)


class DrainingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol (the websockets library's sans-I/O implementation), except for a
    handshake the application has not answered when the server shuts down: uvicorn refuses it with a
    500, which says the server failed; this says 503, the server is going away, and the page connects
    again through the balancer to another process, as after the 1012 an open socket gets."""

    shutting_down = False

    def shutdown(self) -> None:
        self.shutting_down = True
        super().shutdown()

    def send_500_response(self) -> None:
        if not self.shutting_down or self.initial_response or self.handshake_complete:
            super().send_500_response()  # an application that failed its handshake: a real 500
            return
        response = self.conn.reject(503, "The server is restarting: connect again.\n")
        self.conn.send_response(response)
        self.transport.write(b"".join(self.conn.data_to_send()))
