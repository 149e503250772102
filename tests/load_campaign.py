"""The load campaign: the web tier under wrk, and 1,000 websocket subscribers receiving every event.

    DATABASE_URL=postgres://.../narcis_load REDIS_URL=redis://127.0.0.1:6379/3 \\
        python -m tests.load_campaign [--duration 10] [--connections 16] [--jobs 250] [--tabs 4]

The database named by DATABASE_URL is migrated and filled (use a throwaway one). One daphne process
(DEBUG off, no embedded worker: workers are off; `--web-processes N` for more) serves it. wrk
(`-t2 -c<connections> -d<duration>s`) measures GET /health, GET /api/generations/<id>, GET /api/me,
GET / and POST /api/generations (a guest with tokens to spare and the per-visitor limits lifted). Then
`--jobs` queued jobs each get `--tabs` websocket subscribers (all connected first, spread over the web
processes), and a fake worker publishes every job's progress through the channel layer at the real rate
(`--steps` events `--interval` s apart, then the final one); each socket must receive every event of
its job. One JSON line reports it all.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.campaign_clients import PROJECT, WebServer, guest_cookie

WRK_LINE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "narcis_site.settings")
    import django

    django.setup()


def _seed(jobs: int):
    """(guest cookie, a job id, [(job id, cookie)] for the sockets): guests with queued jobs."""
    from django.core.files.base import ContentFile
    from PIL import Image

    from apps.generation import services
    from apps.sessions_tokens import services as tokens
    from apps.sessions_tokens.models import User

    def face() -> ContentFile:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
        return ContentFile(buffer.getvalue())

    staff = User.objects.filter(email="load@narcis.invalid").first() or User.objects.create_superuser(
        email="load@narcis.invalid"
    )
    watched = []
    for _ in range(jobs):
        guest = tokens.guest_session_create()
        job = services.job_submit(owner=guest, idea="calm", face=face())
        watched.append((str(job.id), guest_cookie(guest)))
    poster = tokens.guest_session_create()
    for _ in range(20):
        tokens.grant(owner=poster, amount=tokens.MAX_GRANT, actor=staff, reason="load campaign")
    polled = services.job_submit(owner=poster, idea="calm", face=face())
    return guest_cookie(poster), str(polled.id), watched


def _wrk(url: str, *, duration: int, connections: int, headers: list[str], script: str | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *headers, url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {f"p{p}_ms": round(float(v) * UNIT_MS[u], 1) for p, v, u in WRK_LINE.findall(out)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"req_s": round(rate), **latency, "non_2xx": int(errors.group(1)) if errors else 0}


def _post_script(folder: Path, cookie: str, csrf: str) -> str:
    boundary = "narcisloadboundary"
    buffer = io.BytesIO()
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG")
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="idea"\r\n\r\ncorporate confidence\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="face"; filename="me.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode("latin-1")
        + buffer.getvalue()
        + f"\r\n--{boundary}--\r\n".encode("latin-1")
    )
    (folder / "body.bin").write_bytes(body)
    script = folder / "post.lua"
    script.write_text(
        f'local f = io.open("{folder / "body.bin"}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
        'wrk.method = "POST"\n'
        f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"\n'
        f'wrk.headers["Cookie"] = "{cookie}; csrftoken={csrf}"\n'
        f'wrk.headers["X-CSRFToken"] = "{csrf}"\n'
    )
    return str(script)


async def _sockets(
    bases: list[str], watched, *, tabs: int, steps: int, interval: float, opening_at_once: int
) -> dict:
    """Each job's tabs are spread over the web processes in turn, as a load balancer would."""
    from channels.layers import get_channel_layer
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake

    from apps.generation.progress import group_name

    received: dict[int, list[dict]] = {}
    ready = asyncio.Event()
    connected = 0

    opening = asyncio.Semaphore(opening_at_once)
    retried = 0

    async def open_socket(job_id: str, cookie: str, base: str):
        """Opens like a page does: a failed handshake is tried again after a pause (portraits.js
        reconnects too); at most `opening_at_once` handshakes in flight."""
        nonlocal retried
        for attempt in range(5):
            try:
                async with opening:
                    socket = await connect(
                        f"{base}/ws/generations/{job_id}/",
                        additional_headers={"Cookie": cookie},
                        origin=base.replace("ws://", "http://"),
                        max_queue=None,
                        open_timeout=60,
                        ping_interval=None,
                    )
                    return socket, json.loads(await socket.recv())  # the snapshot
            except (OSError, InvalidHandshake, TimeoutError):
                if attempt == 4:
                    raise
                retried += 1
                await asyncio.sleep(0.5 * (attempt + 1))

    async def subscriber(index: int, job_id: str, cookie: str):
        nonlocal connected
        received[index] = []
        socket, snapshot = await open_socket(job_id, cookie, bases[index % len(bases)])
        async with socket:
            received[index].append(snapshot)
            connected += 1
            if connected == len(watched) * tabs:
                ready.set()
            async for message in socket:
                event = json.loads(message)
                received[index].append(event)
                if event.get("event") == "succeeded":
                    return

    layer = get_channel_layer()
    sending = asyncio.Semaphore(32)  # the layer's Redis pool is bounded; a worker sends one at a time

    async def send(job_id: str, event: dict):
        async with sending:
            await layer.group_send(group_name(job_id), {"type": "job.event", "event": event})

    async def worker(job_id: str):
        for step in range(1, steps + 1):
            event = {
                "event": "progress",
                "stage": "stage1",
                "step": step,
                "total": steps,
                "percent": round(100 * step / steps, 1),
            }
            await send(job_id, event)
            await asyncio.sleep(interval)
        final = {"event": "succeeded", "status": "succeeded", "result_url": None}
        await send(job_id, final)

    tasks = [
        asyncio.create_task(subscriber(i * tabs + t, job_id, cookie))
        for i, (job_id, cookie) in enumerate(watched)
        for t in range(tabs)
    ]
    started = time.perf_counter()
    try:
        await asyncio.wait_for(ready.wait(), timeout=300)
    except TimeoutError:
        failed = [repr(task.exception()) for task in tasks if task.done() and task.exception()]
        raise RuntimeError(
            f"{connected} of {len(tasks)} sockets connected; first errors: {failed[:3]}"
        ) from None
    connect_s = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(worker(job_id) for job_id, _ in watched))
    done, pending = await asyncio.wait(tasks, timeout=60)
    errors = [repr(task.exception()) for task in done if task.exception()]
    for task in pending:
        task.cancel()
    expected = len(tasks) * (steps + 1)
    delivered = sum(len(events) - 1 for events in received.values())
    ended = sum(1 for events in received.values() if events and events[-1].get("event") == "succeeded")
    return {
        "sockets": len(tasks),
        "handshakes_retried": retried,
        "connect_s": round(connect_s, 1),
        "publish_s": round(time.perf_counter() - started, 1),
        "expected": expected,
        "delivered": delivered,
        "delivered_pct": round(100 * delivered / expected, 2),
        "ended_with_terminal_event": ended,
        "failed_sockets": len(errors),
        "first_errors": errors[:3],
    }


def run(args) -> dict:
    _django()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT, check=True)
    cookie, job_id, watched = _seed(args.jobs)
    env = {**os.environ, "GENERATIONS_PER_MINUTE": "1000000", "GENERATIONS_MAX_QUEUED": "1000000"}
    servers = [WebServer(args.port + i, env) for i in range(args.web_processes)]
    for server in servers:
        server.start()
    base = servers[0].base  # wrk measures one process
    try:
        csrf = "loadcampaigncsrftoken0123456789a"  # 32 characters, as Django makes them
        headers = ["-H", f"Cookie: {cookie}; csrftoken={csrf}"]
        database = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
        report = {"server": f"daphne x{len(servers)}", "database": database}
        if not args.sockets_only:
            wrk = {"duration": args.duration, "connections": args.connections, "headers": headers}
            report["health"] = _wrk(f"{base}/health", **wrk)
            report["job_status"] = _wrk(f"{base}/api/generations/{job_id}", **wrk)
            report["me"] = _wrk(f"{base}/api/me", **wrk)
            report["wall"] = _wrk(f"{base}/", **wrk)
            with tempfile.TemporaryDirectory() as folder:
                script = _post_script(Path(folder), cookie, csrf)
                report["submit"] = _wrk(f"{base}/api/generations", **wrk, script=script)
            print(json.dumps(report), file=sys.stderr, flush=True)  # the HTTP figures, whatever follows
        report["websockets"] = asyncio.run(
            _sockets(
                [server.base.replace("http://", "ws://") for server in servers],
                watched,
                tabs=args.tabs,
                steps=args.steps,
                interval=args.interval,
                opening_at_once=args.opening,
            )
        )
    finally:
        for server in servers:
            server.stop()
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=250)
    parser.add_argument("--tabs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50, help="progress events per job")
    parser.add_argument("--interval", type=float, default=0.15, help="seconds between a job's events")
    parser.add_argument("--opening", type=int, default=50, help="websocket handshakes in flight at once")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--web-processes", type=int, default=1, help="daphnes sharing the sockets")
    parser.add_argument("--sockets-only", action="store_true", help="skip wrk, measure the sockets")
    report = run(parser.parse_args(argv))
    print(json.dumps(report))
    sockets = report["websockets"]
    return 0 if sockets["delivered"] == sockets["expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
