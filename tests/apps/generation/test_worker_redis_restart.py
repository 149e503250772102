"""The Redis server of a worker process (its own, on a private port) is killed mid-job and restarted:
the job succeeds, and a websocket client that connects again reads the ending from the snapshot."""

from __future__ import annotations

import io
import signal
import subprocess
import time

import pytest
import skimage.data
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.core.files.base import ContentFile
from django.db import connections
from django.test import Client
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens.models import LedgerEntry
from inference.params import Role
from narcis_site import config
from tests.apps.generation.processes import PROJECT, SLOW, child_env, current_database_url, free_port, manage
from tests.apps.generation.test_websocket import close_worker_thread_connections, connect  # noqa: F401 - autouse
from tests.guests import start_guest

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def start_redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return server
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def visitor_with_a_slow_job():
    client = Client()
    guest = start_guest(client)
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    job = services.job_submit(
        owner=guest, idea="calm", face=ContentFile(buffer.getvalue()), params=SLOW, role=Role.OPERATOR
    )
    return client.cookies["narcis_guest"].value, job, guest


async def test_a_redis_restart_mid_job_costs_nothing(settings):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    settings.CHANNEL_LAYERS = config.channel_layers(redis_url)
    channel_layers.backends.clear()
    redis = start_redis(port)
    cookie, job, guest = await database_sync_to_async(visitor_with_a_slow_job)()
    worker = subprocess.Popen(
        manage("run_worker", "--batch", "1"),
        env=child_env(
            DATABASE_URL=current_database_url(),
            NARCIS_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            REDIS_URL=redis_url,
        ),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        painting = GenerationJob.objects.filter(id=job.id, progress_step__gte=2)
        await database_sync_to_async(wait_for)(painting.exists, timeout=120, what="the job to be painting")
        redis.send_signal(signal.SIGKILL)
        redis.wait(10)
        time.sleep(1.0)  # events published now are lost; the painting must not be
        redis = start_redis(port)
        finished = GenerationJob.objects.filter(id=job.id, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
        await database_sync_to_async(wait_for)(finished.exists, timeout=180, what="the job to finish")

        socket = connect(job.id, cookie)  # the client reconnects after its socket died with Redis
        connected, _ = await socket.connect()
        snapshot = await socket.receive_json_from(timeout=10)
        await socket.disconnect()
    finally:
        worker.terminate()
        worker.wait(60)
        redis.terminate()
        redis.wait(10)
        channel_layers.backends.clear()
        await database_sync_to_async(connections.close_all)()
    assert connected and snapshot["status"] == "succeeded" and snapshot["result_url"]
    assert await database_sync_to_async(LedgerEntry.objects.filter(reason="refund").count)() == 0
    job = await database_sync_to_async(GenerationJob.objects.get)(id=job.id)
    assert job.attempts == 1 and job.infra_faults == 0


async def test_a_socket_keeps_its_group_across_a_redis_restart(settings):
    """Groups live in the web process (the pub/sub layer) and redis-py subscribes again on reconnect:
    a socket subscribed before Redis died hears events published after it came back."""
    import asyncio

    port = free_port()
    settings.CHANNEL_LAYERS = config.channel_layers(f"redis://127.0.0.1:{port}/0")
    channel_layers.backends.clear()
    redis = start_redis(port)
    try:
        layer = channel_layers["default"]
        channel = await layer.new_channel()
        await layer.group_add("generation-restart", channel)
        redis.send_signal(signal.SIGKILL)
        redis.wait(10)
        redis = start_redis(port)
        heard, deadline = None, time.monotonic() + 20
        while heard is None and time.monotonic() < deadline:
            try:
                await layer.group_send("generation-restart", {"type": "job.event", "step": 7})
                heard = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except (TimeoutError, ConnectionError, OSError):  # the publisher reconnects too
                await asyncio.sleep(0.2)
        await layer.flush()
    finally:
        redis.terminate()
        redis.wait(10)
        channel_layers.backends.clear()
    assert heard == {"type": "job.event", "step": 7}
