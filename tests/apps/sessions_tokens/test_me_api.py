import pytest

from apps.sessions_tokens import services

pytestmark = pytest.mark.django_db


def test_new_visitor_sees_the_guest_allowance(client, settings):
    settings.TOKEN_COUNT_FOR_GUESTS = 3
    body = client.get("/api/me").json()
    assert body["authenticated"] is False and body["balance"] == 3
    assert "email" not in body and body["guest_expires_at"]


def test_logged_in_user_sees_email_and_account_balance(client, make_user, staff_user):
    user = make_user(email="ada@example.com")
    services.grant(owner=user, amount=7, actor=staff_user, reason="welcome")
    client.force_login(user)
    assert client.get("/api/me").json() == {"authenticated": True, "email": "ada@example.com", "balance": 7}


def test_openapi_docs_describe_me(client, db):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/me" in schema["paths"]
