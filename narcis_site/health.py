"""GET /health: the load balancer's target-group check, polled every few seconds.

Served by the first middleware so it never depends on the Host header (the ALB probes by the task's
private IP), HTTPS redirects, sessions or the URL resolver. One `SELECT 1` on the pooled connection.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections
from django.http import JsonResponse

from narcis_site.drain import DRAINING

logger = logging.getLogger("narcis.health")

HEALTH_PATH = "/health"


def database_status() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The class name is enough to name the failure; messages can carry hosts or user names.
        logger.warning("health check: database unreachable", extra={"error": type(exc).__name__})
        return "unavailable"
    return "ok"


def health_response() -> JsonResponse:
    if DRAINING.is_set():  # told to stop: the balancer should send nothing new (narcis_site.drain)
        healthy, body = False, {"status": "draining"}
    else:
        database = database_status()
        healthy = database == "ok"
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
