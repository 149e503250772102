"""A websocket still in its handshake when the web process shuts down is refused with a 503 (the server
is going away: connect again), not uvicorn's 500 (the server failed). The real server, as
narcis_site.serve configures it, on a real socket; uvicorn's own protocol beside it gives the 500."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
import time

import pytest
import uvicorn

from narcis_site import serve
from tests.apps.generation.processes import free_port

HANDSHAKE_TAKEN = threading.Event()


async def never_accepts(scope, receive, send):
    """An application that takes the handshake and never answers it (a slow ownership check)."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    HANDSHAKE_TAKEN.set()
    await asyncio.Event().wait()


def handshake(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws/jobs/1/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(("ws", "status"), [(None, b"503"), ("websockets-sansio", b"500")])
def test_a_handshake_the_shutdown_ends_is_refused_with_503(ws, status):
    port = free_port()
    config = serve.config(never_accepts, "127.0.0.1", port)
    config.timeout_graceful_shutdown = 1  # the application's task is cancelled after a second
    if ws is not None:
        config.ws = ws  # uvicorn's own protocol, for the contrast
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    HANDSHAKE_TAKEN.clear()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(handshake(port))
        assert HANDSHAKE_TAKEN.wait(10), "the application never got the handshake"
        server.should_exit = True  # while the application sits on it
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    thread.join(10)
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    assert not thread.is_alive()
