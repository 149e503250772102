"""`manage.py run_worker` as a real process: SIGTERM finishes the batch in hand and claims nothing more, or
hands the batch back at once when it cannot end before the stop deadline; with Redis, its events reach a
websocket served by another process."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import time

import pytest
import skimage.data
from channels.db import database_sync_to_async
from django.core.files.base import ContentFile
from django.db import connections
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from inference.params import Role
from tests.apps.generation.processes import PROJECT, SLOW, child_env, current_database_url, manage
from tests.apps.generation.test_websocket import connect, visitor_with_job

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def astronaut() -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def start_worker(settings, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        manage("run_worker", "--batch", "1", *args),
        env=child_env(DATABASE_URL=current_database_url(), NARCIS_MEDIA_ROOT=str(settings.MEDIA_ROOT), **env),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def two_jobs(guest) -> list[GenerationJob]:
    return [
        services.job_submit(owner=guest, idea="calm", face=astronaut(), params=SLOW, role=Role.OPERATOR)
        for _ in range(2)
    ]


def terminate_while_painting(worker: subprocess.Popen, job: GenerationJob) -> float:
    """SIGTERM once the job has painted two steps; returns the seconds the worker took to exit (0)."""
    deadline = time.monotonic() + 120
    while not GenerationJob.objects.filter(id=job.id, progress_step__gte=2).exists():
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never started painting"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    assert worker.wait(120) == 0
    return time.monotonic() - sent


def test_sigterm_finishes_the_job_in_hand_and_claims_no_more(guest, settings):
    first, second = two_jobs(guest)
    worker = start_worker(settings)  # the default deadline, 110 s: plenty for one tiny job
    try:
        terminate_while_painting(worker, first)
    finally:
        if worker.poll() is None:
            worker.kill()
    first.refresh_from_db(), second.refresh_from_db()
    # Painted to its end: the 40 steps of stage 1, then detailing when the tiny model's texture happens
    # to show the face detector a "face" (the seed comes from the job's random id).
    assert first.status == JobStatus.SUCCEEDED
    assert first.progress_stage == "detailing" or first.progress_step == 40
    assert second.status == JobStatus.QUEUED and second.attempts == 0


def test_sigterm_hands_back_at_once_a_batch_that_cannot_end_before_the_deadline(guest, settings):
    first, second = two_jobs(guest)
    worker = start_worker(settings, NARCIS_WORKER_STOP_DEADLINE="2")  # 38 more steps will not fit in 2 s
    try:
        took = terminate_while_painting(worker, first)
    finally:
        if worker.poll() is None:
            worker.kill()
    first.refresh_from_db(), second.refresh_from_db()
    # Back at the head of the queue now, not after the lease's 60 s; nothing counted against the visitor.
    assert took < 30
    assert first.status == JobStatus.QUEUED and first.worker_id == "" and first.lease_expires_at is None
    assert first.attempts == 0 and first.infra_faults == 0 and first.finished_at is None
    assert 2 <= first.progress_step < 40 and first.progress_stage == "base"  # its progress kept for the page
    assert second.status == JobStatus.QUEUED and second.attempts == 0
    assert guest.wallet.ledger.filter(reason="refund").count() == 0  # still paid for: it will be painted


@pytest.mark.redis
async def test_a_worker_process_reaches_a_websocket_in_this_process_through_redis(settings):
    cookie, job = await database_sync_to_async(visitor_with_job)()
    socket = connect(job.id, cookie)
    connected, _ = await socket.connect()
    assert connected and (await socket.receive_json_from(timeout=5))["status"] == "queued"
    worker = await database_sync_to_async(start_worker)(settings)
    try:
        events = []
        while not events or events[-1]["event"] not in ("succeeded", "failed"):
            events.append(await socket.receive_json_from(timeout=120))
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 60)
        await socket.disconnect()
        await database_sync_to_async(connections.close_all)()
    kinds = [event["event"] for event in events]
    assert kinds[:2] == ["started", "concept"] and kinds[-1] == "succeeded" and "progress" in kinds
