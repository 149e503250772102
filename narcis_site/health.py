"""GET /health: the load balancer's target-group check, polled every few seconds.

Served by the first middleware so it never depends on the Host header (the ALB probes by the task's
private IP), HTTPS redirects, sessions or the URL resolver. One `SELECT 1`: on PostgreSQL on a connection
lent by the pool for at most POOL_WAIT_S. When none is free, one connection of its own tells a busy
process (every connection lent, say to a spike of uploads: "busy", a 200, so the balancer keeps a loaded
task instead of replacing it in the middle of the spike) from a database that is not there (503).
"""

from __future__ import annotations

import logging

import psycopg
from django.db import DatabaseError, connections
from django.http import JsonResponse
from psycopg_pool import PoolTimeout

from narcis_site.drain import DRAINING

logger = logging.getLogger("narcis.health")

HEALTH_PATH = "/health"
POOL_WAIT_S = 1.0  # well inside the balancer's check timeout (4 s, deploy/terraform/modules/load_balancer)


def database_status() -> str:
    pool = getattr(connections["default"], "pool", None)  # None on SQLite or without the pool
    try:
        if pool is None:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        else:
            pool.open()  # as Django does before each lend: created closed, opened on first use
            with pool.connection(timeout=POOL_WAIT_S) as connection:
                connection.execute("SELECT 1").fetchone()
    except PoolTimeout as exc:
        return "busy" if _reachable_outside_the_pool(pool) else _unavailable(exc)
    except (DatabaseError, psycopg.Error) as exc:
        return _unavailable(exc)
    return "ok"


def _reachable_outside_the_pool(pool) -> bool:
    """No connection was free: either all are lent (the database is there, this process is busy) or the
    pool cannot connect. A connection of our own tells which (2 s, libpq's shortest connect timeout)."""
    try:
        with psycopg.connect(pool.conninfo, **{**pool.kwargs, "connect_timeout": 2}) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _unavailable(exc: Exception) -> str:
    # The class name is enough to name the failure; messages can carry hosts or user names.
    logger.warning("health check: database unreachable", extra={"error": type(exc).__name__})
    return "unavailable"


def health_response() -> JsonResponse:
    if DRAINING.is_set():  # told to stop: the balancer should send nothing new (narcis_site.drain)
        healthy, body = False, {"status": "draining"}
    else:
        database = database_status()
        healthy = database in ("ok", "busy")
        body = {"status": "ok" if healthy else "unavailable", "database": database}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in (HEALTH_PATH, HEALTH_PATH + "/") and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
