import pytest

from apps.sessions_tokens import selectors
from apps.sessions_tokens.models import GuestSession, LedgerEntry, User
from tests.guests import start_guest

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-lantern-7"


def test_signup_creates_the_account_logs_in_and_moves_the_guest_tokens(client):
    assert client.get("/api/me").json()["balance"] == 5
    page = client.get("/accounts/signup/")
    assert page.status_code == 200 and b"Create your account" in page.content
    response = client.post(
        "/accounts/signup/", {"email": "Ada@Example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "ada@example.com"
    assert client.get("/api/me").json() == {"authenticated": True, "email": "ada@example.com", "balance": 5}
    assert selectors.balance_of(GuestSession.objects.get()) == 0


def test_signing_up_on_the_very_first_request_still_brings_the_guest_allowance(client):
    response = client.post(
        "/accounts/signup/", {"email": "first@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/api/me").json()["balance"] == 5


def test_profile_hides_the_reason_staff_gave_for_a_grant(client, make_user, staff_user):
    from apps.sessions_tokens import services

    user = make_user(password=PASSWORD)
    services.grant(owner=user, amount=3, actor=staff_user, reason="internal: ticket 1234, angry customer")
    client.force_login(user)
    page = client.get("/accounts/").content.decode()
    assert "Gift from the Narcis team" in page and "angry customer" not in page


def test_signup_enforces_password_validators_and_loses_nothing(client):
    client.get("/api/me")
    response = client.post(
        "/accounts/signup/", {"email": "bob@example.com", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 200
    assert b"too short" in response.content
    assert User.objects.count() == 0
    assert client.get("/api/me").json()["balance"] == 5


def test_login_moves_guest_tokens_once_and_logout_keeps_them_on_the_account(client, make_user):
    user = make_user(email="ada@example.com", password=PASSWORD)
    start_guest(client)  # the guest's first portrait started it
    response = client.post("/accounts/login/", {"username": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert selectors.balance_of(user) == 5
    client.post("/accounts/logout/")
    assert client.get("/api/me").json()["balance"] == 0  # the same browser cannot mint a second allowance
    client.post("/accounts/login/", {"username": "ada@example.com", "password": PASSWORD})
    assert selectors.balance_of(user) == 5
    assert LedgerEntry.objects.filter(reason="transfer").count() == 2


def test_wrong_password_says_so_plainly(client, make_user):
    make_user(email="ada@example.com", password=PASSWORD)
    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert b"do not match an account" in response.content


def test_profile_shows_balance_and_history_and_needs_login(client, make_user):
    assert client.get("/accounts/").status_code == 302
    user = make_user(password=PASSWORD)
    client.force_login(user)
    page = client.get("/accounts/")
    assert page.status_code == 200 and b"Token history" in page.content


def test_the_balance_comes_from_api_me_not_from_the_shared_home_page(client, db):
    page = client.get("/")  # one cached copy for every visitor (apps/photowall/page.py)
    assert page.status_code == 200 and b'data-balance="5"' not in page.content
    assert client.get("/api/me").json()["balance"] == 5  # what account.js shows in the page


def test_the_first_api_call_gives_an_api_client_its_csrf_cookie(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.get("/api/me")
    assert client.cookies["csrftoken"].value  # what POST /api/generations must echo in X-CSRFToken
