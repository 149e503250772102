"""The load campaign's work inside one checkout of the product: its guests and jobs, and its 1,000
websocket subscribers with a fake worker publishing through its channel layer.

tests/load_campaign.py runs this file in a subprocess whose folder is the checkout under test (this one,
or the baseline's temporary worktree), so the rows are made by that version's models and services and
the events go through that version's channel layer:

    python -c "import runpy; runpy.run_path('<this file>', run_name='__main__')" seed --jobs 250
    ... sockets < {"bases": [...], "watched": [...], "tabs": 4, ...}

Each prints one JSON line. Only services that every measured version has are used.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time


def _django() -> None:
    sys.path.insert(0, os.getcwd())  # the checkout under test, not the folder this file is in
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "narcis_site.settings")
    import django

    django.setup()


def _cookie(session) -> str:
    """The Cookie header a browser holding this guest session sends (as tests.campaign_clients)."""
    from django.conf import settings
    from django.core import signing

    from apps.sessions_tokens import selectors as token_selectors

    signer = signing.get_cookie_signer(salt=settings.GUEST_COOKIE_NAME + token_selectors.GUEST_COOKIE_SALT)
    return f"{settings.GUEST_COOKIE_NAME}={signer.sign(str(session.pk))}"


def seed(jobs: int) -> dict:
    """A guest with tokens to spare owning a running job (claimed as a worker claims it, its progress at
    40%) and a queued one behind `jobs` guests' queued jobs, which the sockets watch. Needs a fresh
    database: the running job must be the head of the queue."""
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from PIL import Image

    from apps.generation import services
    from apps.generation.models import GenerationJob
    from apps.sessions_tokens import services as tokens
    from apps.sessions_tokens.models import User

    def face() -> ContentFile:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
        return ContentFile(buffer.getvalue())

    staff = User.objects.create_superuser(email="load@narcis.invalid")
    poster = tokens.guest_session_create()
    for _ in range(20):
        tokens.grant(owner=poster, amount=tokens.MAX_GRANT, actor=staff, reason="load campaign")
    running = services.job_submit(owner=poster, idea="calm", face=face())
    claimed = services.jobs_claim(worker_id="load-campaign", limit=1, lease_seconds=3600)
    if [job.id for job in claimed] != [running.id]:
        raise RuntimeError("the database was not fresh: another job was claimed first")
    progress = {"progress_stage": "stage1", "progress_step": 12, "progress_total": 30}
    GenerationJob.objects.filter(pk=running.pk).update(
        **progress, progress_percent=40.0, progress_updated_at=timezone.now()
    )
    watched = []
    for _ in range(jobs):
        guest = tokens.guest_session_create()
        job = services.job_submit(owner=guest, idea="calm", face=face())
        watched.append((str(job.id), _cookie(guest)))
    queued = services.job_submit(owner=poster, idea="calm", face=face())
    return {
        "cookie": _cookie(poster),
        "queued": str(queued.id),
        "running": str(running.id),
        "watched": watched,
    }


async def sockets(bases: list[str], watched, *, tabs: int, steps: int, interval: float, opening: int) -> dict:
    """Each job's tabs are spread over `bases` in turn, as a load balancer would; all connect first,
    then every job's events are published at the real rate; each socket must receive all of its job's."""
    from channels.layers import get_channel_layer
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake

    from apps.generation.progress import group_name

    received: dict[int, list[dict]] = {}
    ready = asyncio.Event()
    connected = 0
    opening_now = asyncio.Semaphore(opening)
    retried = 0

    async def open_socket(job_id: str, cookie: str, base: str):
        """Opens like a page does: a failed handshake is tried again after a pause (portraits.js
        reconnects too); at most `opening` handshakes in flight."""
        nonlocal retried
        for attempt in range(5):
            try:
                async with opening_now:
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
            percent = round(100 * step / steps, 1)
            await send(
                job_id,
                {"event": "progress", "stage": "stage1", "step": step, "total": steps, "percent": percent},
            )
            await asyncio.sleep(interval)
        await send(job_id, {"event": "succeeded", "status": "succeeded", "result_url": None})

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
        for task in tasks:
            task.cancel()
        return {"sockets": len(tasks), "connected": connected, "first_errors": failed[:3], "delivered_pct": 0}
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=["seed", "sockets"])
    parser.add_argument("--jobs", type=int, default=250)
    args = parser.parse_args()
    _django()
    if args.task == "seed":
        report = seed(args.jobs)
    else:
        order = json.load(sys.stdin)
        report = asyncio.run(sockets(order.pop("bases"), order.pop("watched"), **order))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
