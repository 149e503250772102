"""The pool survives a thread that ends without closing its connection: the slot comes back and the
thread is named in an error (narcis_site/postgresql/base.py). Without the guard, max_size such threads
and every later query in the process waits DATABASE_POOL_TIMEOUT_S and fails (docs/benchmarks.md)."""

from __future__ import annotations

import copy
import logging
import threading

import pytest
from django.db import connection, connections, transaction

from narcis_site.postgresql import base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def lent() -> int:
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


def run_thread(target, name: str) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded():
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - reported to the test, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=guarded, name=name)
    thread.start()
    thread.join()
    return errors


def query_and_forget():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_threads_that_end_holding_a_connection_are_caught_and_give_it_back(caplog):
    connection.close()  # this thread holds nothing: every lent connection below is a thread's
    threads = [f"forgetful-{i}" for i in range(connection.pool.max_size + 2)]  # more than the pool holds
    with caplog.at_level(logging.ERROR, logger="narcis.db"):
        errors = [error for name in threads for error in run_thread(query_and_forget, name)]
    assert errors == []  # none waited for a slot that a dead thread kept
    assert base.take_leaked_threads() == threads
    assert [record.thread_name for record in caplog.records] == threads
    assert lent() == 0


def test_a_thread_that_ends_inside_a_transaction_commits_nothing():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pool_guard_probe; CREATE TABLE pool_guard_probe (n int)")
    connection.close()

    def write_and_forget():
        transaction.atomic().__enter__()  # never left: the thread ends mid-transaction
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO pool_guard_probe VALUES (1)")

    assert run_thread(write_and_forget, "mid-transaction") == []
    assert base.take_leaked_threads() == ["mid-transaction"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pool_guard_probe")
        assert cursor.fetchone() == (0,)  # rolled back as it went back to the pool
        cursor.execute("DROP TABLE pool_guard_probe")


def test_a_thread_that_closes_is_not_reported():
    def query_and_close():
        query_and_forget()
        connection.close()

    assert run_thread(query_and_close, "tidy") == []
    assert base.take_leaked_threads() == []


def test_a_second_wrapper_in_one_thread_leaves_the_firsts_connection_alone():
    """A test may swap connections["default"] for a wrapper of its own; the first one's loan stays."""
    first = connections["default"]
    first.ensure_connection()
    second = first.__class__(copy.deepcopy(first.settings_dict), alias="default")
    second.ensure_connection()
    second.close()
    assert base.take_leaked_threads() == []
    first.close()  # still lent to `first`: handing it back here is the first time
    assert lent() == 0
