import copy

import pytest
from channels.testing import HttpCommunicator
from django.db import connection, connections

from apps.sessions_tokens.models import GuestSession
from narcis_site.asgi import application


@pytest.mark.django_db
def test_health_is_ok_when_the_database_answers(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert "narcis_guest" not in response.cookies
    assert GuestSession.objects.count() == 0


@pytest.mark.django_db
def test_health_answers_the_load_balancer_probing_by_ip(client):
    # The ALB sends the task's private IP as Host, which ALLOWED_HOSTS does not list.
    assert client.get("/health", headers={"host": "10.0.3.17:8000"}).status_code == 200


@pytest.mark.django_db
def test_health_is_503_naming_the_database_when_it_is_unreachable(client):
    """A real connection attempt to a database that is not there: a missing file, or a closed port."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-dir/narcis.sqlite3"
    else:
        settings_dict["PORT"] = "1"
        # Through a pool of its own, as the web connects (the suite's pool would answer): the wait for a
        # connection that never comes ends after the pool's timeout.
        settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": 1}
    working = connections["default"]
    unreachable = working.__class__(settings_dict, alias="unreachable")
    connections["default"] = unreachable
    try:
        response = client.get("/health")
    finally:
        unreachable.close()
        if connection.vendor == "postgresql":
            unreachable.close_pool()
        connections["default"] = working
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


@pytest.mark.django_db(transaction=True)
async def test_health_through_the_asgi_application():
    communicator = HttpCommunicator(application, "GET", "/health")
    response = await communicator.get_response()
    await communicator.wait()  # the request's end (request_finished) gives its connection back
    assert response["status"] == 200


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_pool_with_every_connection_lent_is_busy_not_down(client):
    """A spike of uploads holding every pooled connection: /health answers within its short wait, 200
    "busy" (the database is there; the balancer keeps the loaded task), then "ok" once one comes back."""
    import time

    from narcis_site import health

    pool = connection.pool
    held = []
    while pool.get_stats()["pool_size"] < pool.max_size or pool.get_stats()["pool_available"] > 0:
        held.append(pool.getconn(timeout=5))
    try:
        started = time.monotonic()
        response = client.get("/health")
        waited = time.monotonic() - started
    finally:
        for lent in held:
            pool.putconn(lent)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "busy"}
    assert health.POOL_WAIT_S <= waited < health.POOL_WAIT_S + 3  # its own short wait, not the pool's 5 s
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}
