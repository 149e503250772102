"""`make run`'s worker: one Worker thread inside the web server process (NARCIS_EMBEDDED_WORKER=true),
and beside it the webhook delivery loop (production runs `manage.py run_webhooks`).

With the in-process channel layer, events reach websockets only from inside the server's process, and
only through the server's event loop: the layer's asyncio queues are not thread-safe. So the first
ASGI call hands that loop to `progress`, and the worker thread sends every event through it. Production
runs workers as their own processes (`manage.py run_worker`) with the Redis layer instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from apps.generation import progress

logger = logging.getLogger("narcis.worker")


def _work() -> None:
    from apps.generation.worker import worker_from_settings

    try:
        worker_from_settings().run_forever()
    except Exception:  # noqa: BLE001 - the server keeps serving; the log says why no job moves
        logger.exception("the embedded worker stopped")


def _deliver_webhooks() -> None:
    from apps.generation import webhooks

    webhooks.run_forever(threading.Event())


class WithEmbeddedWorker:
    """ASGI wrapper: starts the worker thread with the app, binds the event loop at the first call."""

    def __init__(self, app):
        self.app = app
        self.loop_bound = False
        self.thread = threading.Thread(target=_work, name="embedded-worker", daemon=True)
        self.thread.start()
        self.webhooks = threading.Thread(target=_deliver_webhooks, name="embedded-webhooks", daemon=True)
        self.webhooks.start()

    async def __call__(self, scope, receive, send):
        if not self.loop_bound:
            progress.bind_event_loop(asyncio.get_running_loop())
            self.loop_bound = True
        return await self.app(scope, receive, send)
