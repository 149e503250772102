"""Every long-lived loop that touches the database holds no pooled connection while it waits, and none
when its thread ends: the webhook delivery loop, the worker loop (both run as threads inside the web
process with NARCIS_EMBEDDED_WORKER), the bot's executors, and channels' database_sync_to_async.
A loop that kept its connection would keep one of the web's request slots for good."""

from __future__ import annotations

import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection

from apps.discord_ops.bot import db as bot_db
from apps.generation import webhooks
from apps.generation.models import GenerationJob
from apps.generation.worker import Worker
from narcis_site.postgresql import base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def lent() -> int:
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


class OneIdleRound(threading.Event):
    """A stop event whose first wait notes how many connections are lent, then stops the loop."""

    def __init__(self):
        super().__init__()
        self.lent_while_waiting: list[int] = []

    def wait(self, timeout=None):
        self.lent_while_waiting.append(lent())
        self.set()
        return True


def in_thread(target) -> None:
    thread = threading.Thread(target=target, name="loop-under-test")
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()


@pytest.fixture(autouse=True)
def nothing_lent_here():
    connection.close()  # this thread holds nothing: what is lent below is the loop's


def test_the_webhook_loop_waits_and_ends_without_a_connection():
    stop = OneIdleRound()
    in_thread(lambda: webhooks.run_forever(stop, poll_s=0.01))  # one real round: claims nothing due
    assert stop.lent_while_waiting == [0]
    assert base.take_leaked_threads() == []


def test_the_worker_loop_waits_and_ends_without_a_connection(monkeypatch):
    worker = Worker(None, worker_id="idle", mecene=object())  # no pipeline: the round is a query

    def idle_round():
        GenerationJob.objects.exists()
        return 0

    monkeypatch.setattr(worker, "warm_up", lambda: None)
    monkeypatch.setattr(worker, "run_once", idle_round)
    worker.stopping = OneIdleRound()
    in_thread(lambda: worker.run_forever(idle_sleep=0.01))
    assert worker.stopping.lent_while_waiting == [0]
    assert base.take_leaked_threads() == []


def test_the_bots_executors_give_their_connection_back():
    async def lookups():
        for run in (bot_db.db, bot_db.build, bot_db.image_io):
            await run(GenerationJob.objects.exists)

    async_to_sync(lookups)()
    assert lent() == 0  # the executors' threads live on: a kept connection would stay lent


def test_database_sync_to_async_gives_its_connection_back():
    async def lookup():
        await database_sync_to_async(GenerationJob.objects.exists)()

    async_to_sync(lookup)()  # a consumer's call: on asgiref's long-lived sync thread (here, this one)
    assert lent() == 0
