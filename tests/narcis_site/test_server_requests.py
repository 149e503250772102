"""The server refuses what it should not read, before reading it: a body past MAX_REQUEST_BYTES (by its
Content-Length, or as it arrives chunked) gets 413 and the connection closes; headers or a body that
trickle in get 408 and the connection closes (narcis_site.uvicorn_protocol). Through the real server
(`python -m narcis_site.serve`) and raw sockets, as an attacker would send them; a normal request still
gets its answer, with no Server banner, and an upload that arrives slowly but steadily is not cut."""

from __future__ import annotations

import concurrent.futures
import json
import select
import socket
import time

import pytest

from tests.apps.generation.processes import child_env, free_port
from tests.campaign_clients import WebServer

pytestmark = pytest.mark.embedded_default
HEADER_TIMEOUT_S = 2
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    env = child_env(
        DATABASE_URL=f"sqlite:///{folder / 'unused.sqlite3'}",  # nothing here reaches the database
        REDIS_URL=None,
        NARCIS_MEDIA_ROOT=str(folder / "media"),
        NARCIS_CACHE_DIR=str(folder / "cache"),
        MAX_REQUEST_BYTES=str(LIMIT),
        REQUEST_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        REQUEST_BODY_MAX_S="4",
    )
    web = WebServer(free_port(), env)
    web.start(probe="/api/no-such-operation")
    yield web
    web.stop()


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=15)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout here fails the test)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def upload_head(length_header: str) -> bytes:
    return (
        "POST /api/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\n{length_header}\r\n\r\n"
    ).encode()


def test_a_normal_request_is_answered_without_a_server_banner(server):
    with connect(server) as sock:
        sock.sendall(b"GET /api/no-such-operation HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw = read_until_closed(sock)
    status, body = status_and_body(raw)
    assert status == 404 and body["code"] == "not_found"
    assert b"\r\nserver:" not in raw.lower()


def test_an_announced_300_mb_body_is_refused_before_it_is_sent(server):
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(upload_head(f"Content-Length: {300 * 2**20}"))
        raw = read_until_closed(sock)  # the server closes: it will not read the 300 MB
    status, body = status_and_body(raw)
    assert status == 413 and body["code"] == "body_too_large"
    assert time.monotonic() - started < HEADER_TIMEOUT_S  # refused at once, not timed out


def test_a_chunked_body_is_cut_off_at_the_limit(server):
    with connect(server) as sock:
        sock.sendall(upload_head("Transfer-Encoding: chunked"))
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < 4 * LIMIT:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed while we were still sending: the point
        try:
            raw = read_until_closed(sock)
        except ConnectionResetError:
            raw = b""
    assert sent < 4 * LIMIT or raw.startswith(b"HTTP/1.1 413")
    if raw:
        assert status_and_body(raw)[0] == 413


def test_headers_that_trickle_in_are_cut_off(server):
    with connect(server) as sock:
        sock.sendall(b"GET /api/no-such-operation HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        sock.settimeout(0.5)
        raw, closed = b"", False
        while time.monotonic() - started < HEADER_TIMEOUT_S + 5 and not closed:
            try:
                sock.sendall(b"X-Slow: a\r\n")  # a header every half second: an idle clock would restart
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            raw, closed = raw + chunk, not chunk
        elapsed = time.monotonic() - started
    assert HEADER_TIMEOUT_S - 0.5 < elapsed < HEADER_TIMEOUT_S + 3
    assert raw.startswith(b"HTTP/1.1 408") and status_and_body(raw)[1]["code"] == "request_timeout"


def test_twenty_half_sent_uploads_are_all_closed(server):
    """A body that stops half-way (or trickles a byte a second) holds no connection past its time."""

    def half_sent(_) -> tuple[bytes, float]:
        with connect(server) as sock:
            sock.sendall(upload_head("Content-Length: 10000") + b"--x\r\n")
            started = time.monotonic()
            sock.settimeout(1.0)
            raw = b""
            while time.monotonic() - started < 10:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    sock.sendall(b"a")
                    continue
                if not chunk:
                    break
                raw += chunk
            return raw, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(half_sent, range(20)))
    for raw, elapsed in results:
        assert raw.startswith(b"HTTP/1.1 408"), raw[:100]
        assert elapsed < 2 * HEADER_TIMEOUT_S + 2


def send_steadily(server, *, rate: int, seconds: float) -> tuple[bytes, float]:
    """An upload of `rate` bytes a second for `seconds`, in quarter-second parts, until the server
    answers; the answer and when it came (from the end of the headers)."""
    part, parts = b"x" * (rate // 4), int(seconds * 4)
    with connect(server) as sock:
        sock.sendall(upload_head(f"Content-Length: {len(part) * parts}\r\nConnection: close"))
        started = time.monotonic()
        for _ in range(parts):
            if select.select([sock], [], [], 0)[0]:
                break  # answered (or closed) before the whole body was sent
            sock.sendall(part)
            time.sleep(0.25)
        select.select([sock], [], [], 15)
        answered = time.monotonic() - started
        return read_until_closed(sock), answered


def test_a_slow_but_steady_upload_gets_its_answer(server):
    """Past the header timeout, at twice the minimum rate (16 KiB/s): each part buys it more time."""
    raw, _ = send_steadily(server, rate=32 * 1024, seconds=HEADER_TIMEOUT_S + 1)
    assert raw.startswith(b"HTTP/1.1 4") and not raw.startswith(b"HTTP/1.1 408"), raw[:200]


def test_no_upload_lasts_past_the_body_cap(server):
    """However steady, a body still arriving at REQUEST_BODY_MAX_S (4 s here) is cut off."""
    raw, elapsed = send_steadily(server, rate=64 * 1024, seconds=8)
    assert raw.startswith(b"HTTP/1.1 408"), raw[:200]
    assert 4 - 0.5 < elapsed < 4 + 2
