"""The web server: `python -m narcis_site.serve [--host H] [--port P]` (PORT, else 8000; 127.0.0.1).

uvicorn on uvloop and httptools, with the protections of narcis_site.uvicorn_protocol (413, 408,
Connection: close while draining) and the SIGTERM drain of narcis_site.drain. One process: ECS runs one
per task and scales tasks. The plain `uvicorn narcis_site.asgi:application` would serve the same app
with none of the protections.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

WEBSOCKET_PING_S = 20  # daphne's: the pages and the consumers expect a quiet socket to stay open this way
WEBSOCKET_MAX_BYTES = 2**20  # the pages send no more than a few bytes a message


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m narcis_site.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    return parser.parse_args(argv)


def config(application, host: str, port: int):
    import uvicorn
    from django.conf import settings

    from narcis_site.uvicorn_protocol import DrainingWebSocketProtocol, GuardedHttpToolsProtocol

    return uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        ws=DrainingWebSocketProtocol,  # uvicorn's websockets-sansio (its legacy one is deprecated)
        ws_ping_interval=WEBSOCKET_PING_S,
        ws_ping_timeout=WEBSOCKET_PING_S,
        ws_max_size=WEBSOCKET_MAX_BYTES,
        ws_per_message_deflate=False,  # as daphne: no compression CPU per event on a thousand sockets
        lifespan="off",  # the app has no startup or shutdown of its own
        log_config=None,  # Django's LOGGING (JSON lines) holds; uvicorn's loggers go through it
        access_log=False,  # each request is one JSON line from narcis_site.access_log
        proxy_headers=False,  # client addresses stay the socket's: the app reads X-Forwarded-For itself
        server_header=False,  # no banner
        timeout_keep_alive=settings.WEB_KEEP_ALIVE_S,
        timeout_graceful_shutdown=settings.WEB_DRAIN_MAX_S,
    )


def load_views() -> None:
    """Imports the URL configuration and every view it names before the port opens: otherwise the first
    request that is not /health (answered by a middleware) pays for it, seconds on a small task."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - a lazy property: reading it imports the modules


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "narcis_site.settings")
    from narcis_site.asgi import application  # sets Django up, its logging first
    from narcis_site.drain import DrainingServer

    load_views()
    server = DrainingServer(config(application, args.host, args.port))
    logging.getLogger("narcis.web").info("web listening", extra={"host": args.host, "port": args.port})
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on
        return 130
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
