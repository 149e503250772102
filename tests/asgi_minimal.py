"""The smallest ASGI application: a small JSON body for every HTTP request, no Django. The load campaign
serves it with each server (`--minimal`) to measure what the server itself costs on this machine."""

from __future__ import annotations

BODY = b'{"status": "ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":  # granian speaks the lifespan protocol even when nothing needs it
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
