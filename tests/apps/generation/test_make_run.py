"""`make run` as a newcomer meets it: the web server with the embedded worker on the embedded default (SQLite,
in-process channel layer, local media, tiny preset), driven over real HTTP and a real websocket.

This is the path the in-process unit tests cannot cover: the worker runs in a plain thread of the
server process and must hand its events to the server's event loop (apps.generation.embedded).
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import urllib.request

import pytest
import skimage.data
from PIL import Image
from websockets.sync.client import connect

from tests.apps.generation.processes import multipart, running_site

pytestmark = pytest.mark.embedded_default  # its own SQLite file: the first pass runs it

FINAL = {"succeeded", "failed", "canceled"}


@pytest.fixture
def server(tmp_path):
    with running_site(tmp_path) as address:
        yield address


def astronaut_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_curl_submit_paints_a_portrait_and_the_websocket_shows_its_progress(server):
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get_json(path: str) -> dict:
        with browser.open(f"http://{server}{path}", timeout=10) as response:
            return json.load(response)

    assert get_json("/api/me")["balance"] == 5  # the free tokens to come, and the csrftoken cookie
    cookies = {cookie.name: cookie.value for cookie in jar}
    body, content_type = multipart(
        {"idea": "corporate confidence"}, {"face": ("astronaut.png", astronaut_png(), "image/png")}
    )
    submit = urllib.request.Request(
        f"http://{server}/api/generations",
        data=body,
        headers={"Content-Type": content_type, "X-CSRFToken": cookies["csrftoken"]},
    )
    with browser.open(submit, timeout=10) as response:
        assert response.status == 201
        job = json.load(response)

    # The submit started the guest session: its cookie came with the 201.
    cookie_header = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    events = []
    with connect(
        f"ws://{server}/ws/generations/{job['id']}/",
        additional_headers={"Cookie": cookie_header, "Origin": f"http://{server}"},
    ) as socket:
        while not events or (events[-1]["event"] not in FINAL and events[-1].get("status") not in FINAL):
            events.append(json.loads(socket.recv(timeout=60)))

    kinds = [event["event"] for event in events]
    assert kinds[0] == "snapshot" and kinds[-1] == "succeeded", kinds
    progress = [event for event in events if event["event"] == "progress"]
    assert progress, "no live progress reached the websocket"
    assert progress[-1]["percent"] == 100.0
    assert any(event.get("preview", "").startswith("data:image/jpeg;base64,") for event in progress)

    with browser.open(f"http://{server}{events[-1]['result_url']}", timeout=10) as response:
        image = Image.open(io.BytesIO(response.read()))
        assert image.format == "PNG" and image.size == (256, 256)
    detail = get_json(f"/api/generations/{job['id']}")
    assert detail["status"] == "succeeded" and detail["progress"]["percent"] == 100.0
    assert get_json("/api/me")["balance"] == 4  # debited once
