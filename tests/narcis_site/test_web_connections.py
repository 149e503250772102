"""One daphne on PostgreSQL under concurrent requests: every answer is a 200 and the web holds no idle
connection per request. Django runs each ASGI request's sync code on a thread of its own; with
persistent connections each such thread kept one, and 16 concurrent clients drove PostgreSQL to "too
many clients" (5xx everywhere, /health failing) within seconds (tests/load_campaign.py found it)."""

from __future__ import annotations

import concurrent.futures
import urllib.error
import urllib.request

import pytest
from django.db import connection

from tests.apps.generation.processes import child_env, current_database_url, free_port
from tests.campaign_clients import WebServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
REQUESTS = 400


def backends_of_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_concurrent_requests_neither_fail_nor_hoard_connections(tmp_path):
    env = child_env(
        DATABASE_URL=current_database_url(),
        NARCIS_MEDIA_ROOT=str(tmp_path / "media"),
        NARCIS_CACHE_DIR=str(tmp_path / "cache"),
    )
    server = WebServer(free_port(), env)  # DEBUG off, no embedded worker
    server.start()
    try:

        def get(path: str) -> int:
            try:
                with urllib.request.urlopen(f"{server.base}{path}", timeout=60) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(get, ["/health", "/api/me"] * (REQUESTS // 2)))
        held_after = backends_of_this_database()
    finally:
        server.stop()
    assert statuses.count(200) == REQUESTS, {status: statuses.count(status) for status in set(statuses)}
    assert held_after <= 4  # not one per request served
