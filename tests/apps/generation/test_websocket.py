"""The websocket through the real ASGI application: cookie identity, snapshot, live events."""

import io

import pytest
import skimage.data
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.base import ContentFile
from django.db import connections
from django.test import Client
from PIL import Image

from apps.generation import services
from apps.generation.worker import Worker
from inference.faces import OpenCVFaceAnalyzer
from inference.portrait.pipeline import PortraitPipeline
from narcis_site.asgi import application
from tests.guests import start_guest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_worker_thread_connections():
    """database_sync_to_async keeps a thread with its own connection: close it, or the test DB stays."""
    yield
    await database_sync_to_async(connections.close_all)()


def png() -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def visitor_with_job():
    client = Client()
    guest = start_guest(client)
    cookie = client.cookies["narcis_guest"].value
    job = services.job_submit(owner=guest, idea="calm", face=png())
    return cookie, job


def connect(job_id, cookie: str | None):
    headers = [(b"origin", b"http://localhost")]
    if cookie:
        headers.append((b"cookie", f"narcis_guest={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/generations/{job_id}/", headers=headers)


@pytest.fixture
async def server_loop():
    """Events go through this test's loop, as the embedded worker sends them under `make run`."""
    import asyncio

    from apps.generation import progress

    progress.bind_event_loop(asyncio.get_running_loop())
    yield
    progress.bind_event_loop(None)


async def test_the_owner_gets_the_snapshot_then_every_event_in_order(tiny_models, server_loop):
    cookie, job = await database_sync_to_async(visitor_with_job)()
    socket = connect(job.id, cookie)
    connected, _ = await socket.connect()
    assert connected
    snapshot = await socket.receive_json_from(timeout=5)
    assert (
        snapshot["event"] == "snapshot" and snapshot["status"] == "queued" and snapshot["queue_position"] == 0
    )

    pipeline = PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    await database_sync_to_async(Worker(pipeline, worker_id="w").run_once)()
    events = []
    while not events or events[-1]["event"] not in ("succeeded", "failed"):
        events.append(await socket.receive_json_from(timeout=10))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "succeeded" and "progress" in kinds
    steps = [(e["stage"], e["step"]) for e in events if e["event"] == "progress"]
    assert steps[:3] == [("base", 1), ("base", 2), ("base", 3)]
    assert events[-1]["result_url"].startswith("/media/productions/")
    await socket.disconnect()


async def test_anyone_else_is_refused_with_4403():
    _, job = await database_sync_to_async(visitor_with_job)()
    other_cookie, _ = await database_sync_to_async(visitor_with_job)()
    for cookie in (None, other_cookie, "forged-value"):
        socket = connect(job.id, cookie)
        connected, _ = await socket.connect()
        assert connected and await socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4403,
        }
        await socket.disconnect()  # end the consumer while the loop runs, not in the loop's teardown


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ws/generations/------------------------------------/", 4404),  # 36 characters, no UUID
        ("/ws/generations/00000000-0000-0000-0000-000000000000/", 4403),  # a UUID, no such job
        ("/ws/generations/" + "a" * 40 + "/", 4404),
        ("/ws/elsewhere/", 4404),
        ("/ws/generations/%FF%FE/", 4404),
    ],
)
async def test_malformed_ids_and_unknown_paths_close_cleanly(path, code, caplog):
    socket = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])
    connected, _ = await socket.connect()
    closed = await socket.receive_output(timeout=5)
    assert connected and closed == {"type": "websocket.close", "code": code}
    await socket.disconnect()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_canceling_a_queued_job_is_announced_on_its_socket():
    cookie, job = await database_sync_to_async(visitor_with_job)()
    socket = connect(job.id, cookie)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["status"] == "queued"

    def cancel():
        client = Client()
        client.cookies["narcis_guest"] = cookie
        return client.post(f"/api/generations/{job.id}/cancel").json()

    assert (await database_sync_to_async(cancel)())["status"] == "canceled"
    assert await socket.receive_json_from(timeout=5) == {"event": "canceled"}
    await socket.disconnect()


async def test_a_quiet_socket_learns_an_ending_it_missed(monkeypatch):
    """The ending was published while Redis was away (here: never published): the socket reads the row
    after QUIET_RECHECK_S of silence and sends it; while the job lives, the recheck sends nothing."""
    from apps.generation import consumers
    from apps.generation.models import GenerationJob, JobStatus

    monkeypatch.setattr(consumers, "QUIET_RECHECK_S", 0.3)
    cookie, job = await database_sync_to_async(visitor_with_job)()
    socket = connect(job.id, cookie)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["status"] == "queued"
    assert await socket.receive_nothing(timeout=1.0)  # three rechecks of a live job: silence

    ended = GenerationJob.objects.filter(id=job.id)
    await database_sync_to_async(ended.update)(status=JobStatus.FAILED, error_message="The painter tripped.")
    assert await socket.receive_json_from(timeout=5) == {"event": "failed", "message": "The painter tripped."}
    assert await socket.receive_nothing(timeout=1.0)  # told once
    await socket.disconnect()


async def test_the_recheck_announces_no_ending_of_a_portrait_its_owner_deleted(monkeypatch):
    from django.utils import timezone

    from apps.generation import consumers
    from apps.generation.models import GenerationJob, JobStatus

    monkeypatch.setattr(consumers, "QUIET_RECHECK_S", 0.3)
    cookie, job = await database_sync_to_async(visitor_with_job)()
    socket = connect(job.id, cookie)
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=5))["status"] == "queued"
    gone = GenerationJob.objects.filter(id=job.id)
    await database_sync_to_async(gone.update)(status=JobStatus.CANCELED, erased_at=timezone.now())
    assert await socket.receive_nothing(timeout=1.0)
    await socket.disconnect()


async def test_one_owner_holds_at_most_twenty_sockets_and_the_next_is_closed_with_4429():
    from apps.generation.consumers import MAX_SOCKETS_PER_OWNER, TOO_MANY_SOCKETS

    cookie, job = await database_sync_to_async(visitor_with_job)()
    sockets = []
    for _ in range(MAX_SOCKETS_PER_OWNER):
        socket = connect(job.id, cookie)
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from(timeout=5))["event"] == "snapshot"
        sockets.append(socket)
    extra = connect(job.id, cookie)
    assert (await extra.connect())[0]
    assert await extra.receive_output(timeout=5) == {"type": "websocket.close", "code": TOO_MANY_SOCKETS}
    await extra.disconnect()
    other_cookie, other_job = await database_sync_to_async(visitor_with_job)()
    other = connect(other_job.id, other_cookie)  # another visitor is not held to this one's count
    assert (await other.connect())[0] and (await other.receive_json_from(timeout=5))["event"] == "snapshot"
    await other.disconnect()
    await sockets.pop().disconnect()  # one closed: room for one more
    again = connect(job.id, cookie)
    assert (await again.connect())[0] and (await again.receive_json_from(timeout=5))["event"] == "snapshot"
    for socket in [*sockets, again]:
        await socket.disconnect()
