"""One web server on PostgreSQL under concurrent requests: every answer is a 200 and the web holds no idle
connection per request. Django runs each ASGI request's sync code on a thread of its own; with
persistent connections each such thread kept one, and 16 concurrent clients drove PostgreSQL to "too
many clients" (5xx everywhere, /health failing) within seconds (tests/load_campaign.py found it).
Now the process lends connections from psycopg's pool: each request's thread hands its connection back
at the end of the request, so what stays open is at most the pool, and no request thread ends holding
one (the guard in narcis_site/postgresql/base.py would log it)."""

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
POOL_MAX = 6  # below the 16 concurrent clients: requests wait for a slot instead of opening more


APPLICATION = "narcis-web-under-test"  # the server's backends, not this process's pool


def backends_of_the_server() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [APPLICATION],
        )
        return cursor.fetchone()[0]


def test_concurrent_requests_neither_fail_nor_hoard_connections(tmp_path):
    env = child_env(
        DATABASE_URL=f"{current_database_url()}?application_name={APPLICATION}",
        NARCIS_MEDIA_ROOT=str(tmp_path / "media"),
        NARCIS_CACHE_DIR=str(tmp_path / "cache"),
        DATABASE_POOL_MAX_SIZE=str(POOL_MAX),
    )
    log = tmp_path / "web.log"
    server = WebServer(free_port(), env, log)  # DEBUG off, no embedded worker
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
        held_after = backends_of_the_server()
    finally:
        server.stop()
    assert statuses.count(200) == REQUESTS, {status: statuses.count(status) for status in set(statuses)}
    assert held_after <= POOL_MAX  # the pool's connections, idle between requests; not one per request
    assert "ended holding a database connection" not in log.read_text()
