"""A read that loses its PostgreSQL connection (ended by the server, as a restart or failover ends it) is
served again on a new one; a write is never run twice. The fault is real: the request's own backend is
terminated with pg_terminate_backend just before its first statement."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from tests.guests import start_guest

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _admin_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )


class EndTheFirstConnection:
    """An execute wrapper: before the first statement it sees, its backend is terminated (and gone);
    every statement that reaches the server afterwards is counted."""

    def __init__(self):
        self.armed, self.statements_after = True, 0

    def __call__(self, execute, sql, params, many, context):
        if self.armed:
            self.armed = False
            pid = context["connection"].connection.info.backend_pid
            with _admin_connection() as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                    time.sleep(0.01)
        else:
            self.statements_after += 1
        return execute(sql, params, many, context)


@pytest.fixture
def client(client):
    """A test client that answers as the server would, instead of raising the view's exception."""
    client.raise_request_exception = False
    return client


def test_a_read_that_lost_its_connection_is_served_on_a_new_one(client, caplog):
    start_guest(client)
    fault = EndTheFirstConnection()
    with connection.execute_wrapper(fault):
        response = client.get("/api/me")
    assert response.status_code == 200, response.content
    assert response.json()["guest_expires_at"]  # the guest session was read from the database
    assert not fault.armed and fault.statements_after >= 1
    assert "read served again after the database came back" in caplog.text


def test_a_write_that_lost_its_connection_is_not_run_again(client):
    start_guest(client)
    fault = EndTheFirstConnection()
    with connection.execute_wrapper(fault):
        response = client.post("/api/generations/00000000-0000-0000-0000-000000000000/cancel")
    connection.close()  # the test client leaves the broken connection to the test (a server would close it)
    assert response.status_code == 500
    assert not fault.armed and fault.statements_after == 0  # the first statement failed; none followed
