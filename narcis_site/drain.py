"""A web process told to stop (SIGTERM: a deploy, a scale-in) drains instead of dropping what it serves.

uvicorn's own SIGTERM closes the listening socket at once. Here SIGTERM starts a drain instead (SIGINT,
Ctrl-C, goes straight to step 3; a second Ctrl-C stops at once):

1. `/health` answers 503 `draining` from now on (narcis_site.health), so a balancer that learns from
   health checks takes the process out; every response says `Connection: close`
   (narcis_site.uvicorn_protocol), so no client keeps a connection to it.
2. For WEB_DRAIN_S it goes on serving as before: requests a balancer still sends get their answers.
3. Then uvicorn's graceful shutdown: it stops listening, closes each websocket with 1012 (service
   restart; the pages reconnect, through the balancer, to another process), one still in its handshake
   with a 503 (narcis_site.uvicorn_protocol), and waits for the requests in flight, WEB_DRAIN_MAX_S at
   most (timeout_graceful_shutdown, set by narcis_site.serve), then cancels what is left.
4. Then the process exits 0.

Behind an ALB on ECS the target is deregistered (and drained for the target group's deregistration delay)
before the task gets SIGTERM; the drain then finds little in flight, but the websockets still need step 3.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import uvicorn
from django.conf import settings

logger = logging.getLogger("narcis.web")

DRAINING = threading.Event()  # set once SIGTERM arrived; read by /health and the HTTP protocol


class DrainingServer(uvicorn.Server):
    drain_ends_at: float | None = None

    def handle_exit(self, sig, frame) -> None:
        # A signal handler: it only notes the time; the event loop's next tick (0.1 s) acts on it.
        # SIGTERM is not re-raised once the server is done (uvicorn re-raises what it caught): a drained
        # process exits 0.
        if sig == signal.SIGTERM:
            if self.drain_ends_at is None:
                self.drain_ends_at = time.monotonic() + settings.WEB_DRAIN_S
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_ends_at is not None:
            if not DRAINING.is_set():
                DRAINING.set()
                extra = {"drain_s": settings.WEB_DRAIN_S, "max_s": settings.WEB_DRAIN_MAX_S}
                logger.info("web draining", extra=extra)
            if time.monotonic() >= self.drain_ends_at:
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets=None) -> None:
        websockets = sum(isinstance(c, self.config.ws_protocol_class) for c in self.server_state.connections)
        await super().shutdown(sockets)
        cut = len(self.server_state.tasks)  # none unless WEB_DRAIN_MAX_S ran out (then cancelled)
        log = logger.warning if cut else logger.info
        log("web drained", extra={"websockets_closed": websockets, "requests_cut": cut})
