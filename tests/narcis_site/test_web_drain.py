"""SIGTERM drains the real web server instead of cutting what it serves (narcis_site.drain): /health says
503 at once while every other request is still answered (and told to close its connection); after
WEB_DRAIN_S the port closes and each websocket gets 1012 (service restart); an upload still arriving
gets its whole answer; then the process exits 0."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import signal
import socket
import time

import pytest
import skimage.data
from django.core.files.base import ContentFile
from PIL import Image

from apps.generation import services
from inference.params import Role
from tests.apps.generation.processes import child_env, current_database_url, free_port
from tests.campaign_clients import WebServer, guest_cookie

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
DRAIN_S = 2


def http_get(port: int, path: str, cookie: str = "") -> tuple[int, dict, bytes]:
    """(status, lower-cased headers, body) of one HTTP/1.1 request on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_sigterm_drains_requests_and_websockets_then_exits(guest, settings, tmp_path):
    photo = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(photo, format="PNG")
    job = services.job_submit(
        owner=guest, idea="calm", face=ContentFile(photo.getvalue()), role=Role.OPERATOR
    )
    cookie = guest_cookie(guest)
    env = child_env(
        DATABASE_URL=current_database_url(),
        NARCIS_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        WEB_DRAIN_S=str(DRAIN_S),
        WEB_DRAIN_MAX_S="20",
    )
    web = WebServer(free_port(), env)
    web.start()
    try:
        asyncio.run(_drain_while_watching(web, str(job.id), cookie))
        assert web.process.wait(30) == 0
    finally:
        if web.process.poll() is None:
            web.process.kill()


async def _drain_while_watching(web: WebServer, job_id: str, cookie: str) -> None:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{web.port}/ws/generations/{job_id}/"
    async with connect(url, additional_headers={"Cookie": cookie}, origin=web.base) as watcher:
        assert json.loads(await watcher.recv())["event"] == "snapshot"
        upload = socket.create_connection(("127.0.0.1", web.port), timeout=30)
        body = b"x" * 4096
        upload.sendall(
            b"POST /api/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:100]
        )
        await asyncio.sleep(0.3)  # the server has the request's head: it is in flight

        sigterm_at = time.monotonic()
        web.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        status, _, health = await asyncio.to_thread(http_get, web.port, "/health")
        assert (status, json.loads(health)) == (503, {"status": "draining"})
        status, headers, job = await asyncio.to_thread(
            http_get, web.port, f"/api/generations/{job_id}", cookie
        )
        assert status == 200 and json.loads(job)["id"] == job_id
        assert headers["connection"] == "close"  # a balancer keeps no connection to a process that stops

        with pytest.raises(Exception) as closed:  # websockets' ConnectionClosed once the close frame came
            await asyncio.wait_for(watcher.recv(), timeout=DRAIN_S + 10)
        assert watcher.close_code == 1012, closed.value
        assert time.monotonic() - sigterm_at >= DRAIN_S - 0.1  # served until the drain period ended

    with pytest.raises(ConnectionRefusedError):  # no longer listening
        socket.create_connection(("127.0.0.1", web.port), timeout=5)
    assert web.process.poll() is None  # still waiting for the upload in flight

    upload.sendall(body[100:])
    answer = await asyncio.to_thread(_read_all, upload)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]  # its answer (the form is not one), not a cut


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)
