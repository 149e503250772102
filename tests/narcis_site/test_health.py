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
    working = connections["default"]
    connections["default"] = working.__class__(settings_dict, alias="default")
    try:
        response = client.get("/health")
    finally:
        connections["default"].close()
        connections["default"] = working
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


@pytest.mark.django_db(transaction=True)
async def test_health_through_the_asgi_application():
    response = await HttpCommunicator(application, "GET", "/health").get_response()
    assert response["status"] == 200
