"""The job-status snapshot and the guests' fast path (status_snapshot.py, fast_paths/job_status.py) on
real Redis: the same answer as Django's view, byte for byte and header for header, through every
transition; a miss falls back to the row; a stale or foreign snapshot never shows a job to anyone but
its owner."""

from __future__ import annotations

import io
import json
import logging

import pytest
from channels.testing import HttpCommunicator
from django.core.asgi import get_asgi_application
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from apps.generation import portraits, selectors, services, status_snapshot
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.sessions_tokens.models import GuestSession
from inference.params import Role
from narcis_site.fast_paths.job_status import StatusFastPath
from tests.guests import start_guest

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
HOST = [(b"host", b"localhost")]


@pytest.fixture(autouse=True)
def clean_queues():
    """Other tests' committed jobs leave queue entries behind (their rows are truncated, not claimed)."""
    status_snapshot.client().delete(*status_snapshot.QUEUE_KEYS, status_snapshot.ETA_MEAN_KEY)
    yield
    status_snapshot.client().delete(*status_snapshot.QUEUE_KEYS, status_snapshot.ETA_MEAN_KEY)


@pytest.fixture
def app():
    return StatusFastPath(get_asgi_application())


def png() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def guest_with_job(**submit):
    client = Client()
    guest = start_guest(client)
    job = services.job_submit(owner=guest, idea="calm sea", face=png(), **submit)
    return f"narcis_guest={client.cookies['narcis_guest'].value}", job


async def poll(app, job_id, cookie: str | None, caplog) -> tuple[int, dict, bytes, bool]:
    """(status, headers, body, answered by the fast path)."""
    headers = [*HOST, *([(b"cookie", cookie.encode())] if cookie else [])]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="narcis.access"):
        communicator = HttpCommunicator(app, "GET", f"/api/generations/{job_id}", headers=headers)
        response = await communicator.get_response(timeout=30)
        await communicator.wait(timeout=30)  # the request's end gives its connection back
    fast = any(getattr(record, "fast_path", False) for record in caplog.records)
    named = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response["status"], named, response["body"], fast


def forget_snapshot(job_id) -> None:
    status_snapshot.client().delete(status_snapshot.job_key(job_id))


async def both_paths(app, job_id, cookie, caplog):
    """The fast path's answer, then Django's own for the same request (the snapshot removed). The first
    poll after the queue's mean run time changed is Django's (it stores the mean): one is made first."""
    await poll(app, job_id, cookie, caplog)
    fast = await poll(app, job_id, cookie, caplog)
    forget_snapshot(job_id)
    slow = await poll(app, job_id, cookie, caplog)
    return fast, slow


def same_answer(fast, slow) -> None:
    assert fast[3] and not slow[3], "the first from the snapshot, the second from Django"
    assert fast[0] == slow[0] == 200
    assert fast[2] == slow[2]  # byte for byte
    assert {k: v for k, v in fast[1].items() if k != "content-length"} == {
        k: v for k, v in slow[1].items() if k != "content-length"
    }


async def test_a_queued_job_reads_the_same_from_the_snapshot_as_from_the_row(app, caplog):
    cookie, job = await sync(guest_with_job)
    fast, slow = await both_paths(app, job.id, cookie, caplog)
    same_answer(fast, slow)
    assert json.loads(fast[2])["queue_position"] == 0


async def test_every_transition_rewrites_the_snapshot(app, caplog):
    """Submit, claim, progress, success: after each the fast path answers what the row says."""
    cookie, job = await sync(guest_with_job)
    await sync(services.jobs_claim, worker_id="w1", limit=1, lease_seconds=60)
    status, _, body, fast = await poll(app, job.id, cookie, caplog)
    assert fast and json.loads(body)["status"] == "running"

    await sync(
        lambda: GenerationJob.objects.filter(id=job.id).update(
            progress_stage="stage1", progress_step=7, progress_total=20, progress_percent=35.0
        )
    )
    (fast_answer, slow_answer) = await both_paths(app, job.id, cookie, caplog)
    same_answer(fast_answer, slow_answer)
    assert json.loads(fast_answer[2])["progress"]["step"] == 7

    await sync(
        services.job_succeed,
        job=job,
        worker_id="w1",
        image=png(),
        prompt="a calm sea portrait",
        negative_prompt="",
        metadata={"seed": 5},
    )
    status, _, body, fast = await poll(app, job.id, cookie, caplog)
    assert fast and json.loads(body)["status"] == "succeeded" and json.loads(body)["result_url"]
    same_answer(*(await both_paths(app, job.id, cookie, caplog)))


async def test_queue_positions_and_eta_match_the_row_for_visitors_and_operators(app, caplog, settings):
    settings.OPERATOR_JOBS_PER_VISITOR = 2
    visitors = [await sync(guest_with_job) for _ in range(3)]
    operators = [await sync(guest_with_job, role=Role.STAFF) for _ in range(4)]
    await sync(
        lambda: GenerationJob.objects.filter(id__in=[j.id for _, j in operators]).update(
            priority=Priority.OPERATOR
        )
    )
    for cookie, job in visitors + operators:
        fast, slow = await both_paths(app, job.id, cookie, caplog)
        same_answer(fast, slow)
        row = await sync(GenerationJob.objects.get, id=job.id)
        assert json.loads(fast[2])["queue_position"] == await sync(selectors.queue_position, row)
    assert {json.loads((await poll(app, j.id, c, caplog))[2])["queue_position"] for c, j in visitors} == {
        2,
        5,
        6,
    }


async def test_a_miss_reads_the_row_and_writes_the_snapshot_back(app, caplog):
    cookie, job = await sync(guest_with_job)
    forget_snapshot(job.id)
    status, _, body, fast = await poll(app, job.id, cookie, caplog)
    assert status == 200 and not fast and json.loads(body)["id"] == str(job.id)
    assert status_snapshot.client().exists(status_snapshot.job_key(job.id))
    assert (await poll(app, job.id, cookie, caplog))[3]


async def test_another_guest_never_sees_the_job(app, caplog):
    _, job = await sync(guest_with_job)
    other, _ = await sync(guest_with_job)
    assert status_snapshot.client().exists(status_snapshot.job_key(job.id))
    status, _, body, fast = await poll(app, job.id, other, caplog)
    assert (status, fast) == (404, False)
    status, _, _, fast = await poll(app, job.id, None, caplog)
    assert (status, fast) == (404, False)
    forged = other.rsplit(":", 1)[0] + ":forged"
    assert (await poll(app, job.id, forged, caplog))[:1] == (404,)


async def test_a_job_moved_to_an_account_is_not_shown_to_the_old_guest_cookie(app, caplog, make_user):
    cookie, job = await sync(guest_with_job)
    await poll(app, job.id, cookie, caplog)  # Django's: it stores the queue's mean run time
    assert (await poll(app, job.id, cookie, caplog))[3]
    user = await sync(make_user, email="kept@narcis.invalid")
    session = await sync(GuestSession.objects.get, pk=job.guest_session_id)
    await sync(portraits.jobs_move_to_account, session=session, user=user)
    status, _, _, fast = await poll(app, job.id, cookie, caplog)
    assert (status, fast) == (404, False)


async def test_a_stale_reader_cannot_bring_back_an_erased_job_or_undo_an_ending(app, caplog):
    cookie, job = await sync(guest_with_job)
    old_row = await sync(GenerationJob.objects.get, id=job.id)  # read before the erasure
    await sync(services.job_cancel, job=old_row)
    await sync(status_snapshot.store_if_absent, old_row, eta_mean=None)  # a reader that read 'queued'
    assert json.loads((await poll(app, job.id, cookie, caplog))[2])["status"] == "canceled"
    # Even an unconditional write of the old row does not undo the ending.
    await sync(lambda: status_snapshot._write(job.id, status_snapshot._fields(old_row), only_if_absent=False))
    assert json.loads((await poll(app, job.id, cookie, caplog))[2])["status"] == "canceled"

    await sync(portraits.job_erase, job=await sync(GenerationJob.objects.get, id=job.id))
    await sync(status_snapshot.store_if_absent, old_row, eta_mean=None)
    status, _, _, fast = await poll(app, job.id, cookie, caplog)
    assert (status, fast) == (404, False)
    assert status_snapshot.client().hget(status_snapshot.job_key(job.id), "status") == b"gone"


async def test_an_expired_guest_session_is_left_to_django(app, caplog):
    cookie, job = await sync(guest_with_job)
    await sync(lambda: GuestSession.objects.filter(pk=job.guest_session_id).update(expires_at=timezone.now()))
    await sync(status_snapshot.refresh, [job.id])
    status, _, _, fast = await poll(app, job.id, cookie, caplog)
    assert (status, fast) == (404, False)


async def test_logged_in_and_api_key_callers_go_through_django(app, caplog):
    cookie, job = await sync(guest_with_job)
    status, _, _, fast = await poll(app, job.id, f"{cookie}; sessionid=abc", caplog)
    assert not fast
    headers = [*HOST, (b"cookie", cookie.encode()), (b"authorization", b"Bearer nrc_x")]
    communicator = HttpCommunicator(app, "GET", f"/api/generations/{job.id}", headers=headers)
    response = await communicator.get_response(timeout=30)
    await communicator.wait(timeout=30)
    assert response["status"] == 401


async def test_redis_down_falls_back_to_the_row(app, caplog, settings):
    cookie, job = await sync(guest_with_job)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    broken = StatusFastPath(get_asgi_application())
    status, _, body, fast = await poll(broken, job.id, cookie, caplog)
    assert (status, fast) == (200, False) and json.loads(body)["id"] == str(job.id)


async def sync(function, *args, **kwargs):
    from asgiref.sync import sync_to_async

    return await sync_to_async(function, thread_sensitive=True)(*args, **kwargs)


def test_a_cancelled_queued_job_leaves_the_queue(db):
    _, job = guest_with_job()
    redis = status_snapshot.client()
    assert redis.zscore(status_snapshot.queue_key(Priority.VISITOR), str(job.id)) is not None
    services.job_cancel(job=job)
    assert redis.zscore(status_snapshot.queue_key(Priority.VISITOR), str(job.id)) is None
    assert redis.hget(status_snapshot.job_key(job.id), "status") == JobStatus.CANCELED.encode()


def test_the_queue_is_reconciled_with_the_rows_after_a_lost_write(db):
    """A claim whose snapshot write was lost leaves its job in the queue (every job behind it would read
    one place too many); a submit whose write was lost is missing. The next claim puts both right."""
    _, claimed = guest_with_job()
    _, lost = guest_with_job()
    redis, key = status_snapshot.client(), status_snapshot.queue_key(Priority.VISITOR)
    redis.zrem(key, str(lost.id))  # its submit's write never arrived
    GenerationJob.objects.filter(id=claimed.id).update(status=JobStatus.RUNNING)
    redis.zadd(key, {str(claimed.id): 0})  # as if the claim's write never arrived (an old score)
    status_snapshot.reconcile_queue()
    assert [m.decode() for m in redis.zrange(key, 0, -1)] == [str(lost.id)]
