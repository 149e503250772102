import pytest

from apps.sessions_tokens import services
from apps.sessions_tokens.models import GuestSession, Wallet
from tests.campaign_clients import guest_cookie

pytestmark = pytest.mark.django_db


def test_new_visitor_sees_the_guest_allowance_and_reading_it_creates_nothing(client, settings):
    settings.TOKEN_COUNT_FOR_GUESTS = 3
    for _ in range(3):
        response = client.get("/api/me")
        body = response.json()
        assert body == {"authenticated": False, "balance": 3}  # no session yet: no expiry to show
        assert settings.GUEST_COOKIE_NAME not in response.cookies
    assert GuestSession.objects.count() == 0 and Wallet.objects.count() == 0


def test_the_landing_page_creates_no_guest_and_its_script_shows_the_free_tokens(client, settings):
    settings.TOKEN_COUNT_FOR_GUESTS = 4
    response = client.get("/")
    # The page is one cached copy for everyone: the count comes from /api/me (static/narcis/account.js).
    assert response.status_code == 200 and "/static/narcis/account.js" in response.content.decode()
    assert client.get("/api/me").json() == {"authenticated": False, "balance": 4}
    assert GuestSession.objects.count() == 0 and settings.GUEST_COOKIE_NAME not in response.cookies


def test_a_guest_sees_their_own_session(client, settings):
    session = services.guest_session_create()
    client.cookies[settings.GUEST_COOKIE_NAME] = guest_cookie(session).split("=", 1)[1]
    body = client.get("/api/me").json()
    assert body["balance"] == settings.TOKEN_COUNT_FOR_GUESTS and body["guest_expires_at"]


def test_logged_in_user_sees_email_and_account_balance(client, make_user, staff_user):
    user = make_user(email="ada@example.com")
    services.grant(owner=user, amount=7, actor=staff_user, reason="welcome")
    client.force_login(user)
    assert client.get("/api/me").json() == {"authenticated": True, "email": "ada@example.com", "balance": 7}


def test_openapi_docs_describe_me(client, db):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/me" in schema["paths"]
