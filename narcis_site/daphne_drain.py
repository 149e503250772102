"""A web process told to stop (SIGTERM: a deploy, a scale-in) drains instead of dropping what it serves.

Daphne leaves SIGTERM to Twisted, which stops the reactor at once: every request in flight is cancelled
and every websocket cut. Here SIGTERM starts a drain instead (SIGINT, Ctrl-C, still stops at once):

1. `/health` answers 503 `draining` from now on, so a balancer that learns from health checks takes the
   process out; every response says `Connection: close`, so no client keeps a connection to it.
2. For WEB_DRAIN_S it goes on serving as before: requests a balancer still sends get their answers.
3. Then it stops listening, closes each websocket with 1012 (service restart; the pages reconnect, through
   the balancer, to another process) and waits for the requests in flight, WEB_DRAIN_MAX_S at most.
4. Then the reactor stops as daphne's own SIGTERM would have stopped it.

Behind an ALB on ECS the target is deregistered (and drained for the target group's deregistration delay)
before the task gets SIGTERM; the drain then finds little in flight, but the websockets still need step 3.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger("narcis.web")

DRAINING = threading.Event()  # set once SIGTERM arrived; read by /health
SERVICE_RESTART = 1012  # the websocket close code (RFC 6455 registry) that tells a client to come back


def install_drain() -> None:
    """Takes SIGTERM from Twisted for the drain; nothing changes outside daphne."""
    try:
        from daphne.server import Server
        from twisted.internet import reactor
        from twisted.web.http import HTTPChannel
    except ImportError:
        return
    if getattr(reactor, "narcis_drain", False):
        return
    reactor.narcis_drain = True
    # Twisted installs reactor.sigTerm as the SIGTERM handler when the reactor starts (reactor.run).
    reactor.sigTerm = lambda *_: reactor.callFromThread(_begin, reactor)
    _remember_servers(Server)
    _close_while_draining(HTTPChannel)


_servers: list = []  # the daphne Server of this process (one; a list so tests may build several)


def _remember_servers(server_class) -> None:
    original = server_class.__init__
    if getattr(original, "narcis_drain", False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _servers.append(self)

    __init__.narcis_drain = True
    server_class.__init__ = __init__


def _close_while_draining(channel_class) -> None:
    original = channel_class.checkPersistence
    if getattr(original, "narcis_drain", False):
        return

    def checkPersistence(self, request, version):
        if DRAINING.is_set():
            request.responseHeaders.setRawHeaders(b"Connection", [b"close"])
            return False
        return original(self, request, version)

    checkPersistence.narcis_drain = True
    channel_class.checkPersistence = checkPersistence


def _begin(reactor) -> None:
    if DRAINING.is_set():
        return
    DRAINING.set()
    logger.info("web draining", extra={"drain_s": settings.WEB_DRAIN_S, "max_s": settings.WEB_DRAIN_MAX_S})
    reactor.callLater(settings.WEB_DRAIN_S, _close_and_wait, reactor)


def _close_and_wait(reactor) -> None:
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import tcp

    sockets = 0
    try:
        for port in [reader for reader in reactor.getReaders() if isinstance(reader, tcp.Port)]:
            port.stopListening()
        for server in _servers:
            for protocol in list(server.connections):
                if isinstance(protocol, WebSocketProtocol):
                    _close_socket(protocol)
                    sockets += 1
    except Exception:  # noqa: BLE001 - whatever went wrong, the process must still stop
        logger.exception("web drain: closing failed")
    _wait_for_requests(reactor, time.monotonic() + settings.WEB_DRAIN_MAX_S, sockets)


def _close_socket(protocol) -> None:
    """An open socket gets the close frame; one still in its handshake (its page is waiting to be let in)
    is dropped, and its page retries."""
    if protocol.state == protocol.STATE_OPEN:
        # autobahn's sendClose accepts only 1000 and 3000-4999; the frame itself takes any registered code.
        protocol.sendCloseFrame(code=SERVICE_RESTART, reasonUtf8=b"server restarting", isReply=False)
    elif protocol.state != protocol.STATE_CLOSED:
        protocol.dropConnection(abort=False)


def _requests_in_flight() -> int:
    from daphne.http_protocol import WebRequest

    return sum(
        1
        for server in _servers
        for protocol, details in list(server.connections.items())
        if isinstance(protocol, WebRequest) and not details.get("disconnected")
    )


def _wait_for_requests(reactor, give_up_at: float, sockets: int) -> None:
    try:
        left = _requests_in_flight()
    except Exception:  # noqa: BLE001 - an unreadable count must not keep the process alive
        logger.exception("web drain: could not count the requests in flight")
        left = 0
    if left and time.monotonic() < give_up_at:
        reactor.callLater(0.1, _wait_for_requests, reactor, give_up_at, sockets)
        return
    log = logger.warning if left else logger.info
    log("web drained", extra={"websockets_closed": sockets, "requests_cut": left})
    reactor.stop()
