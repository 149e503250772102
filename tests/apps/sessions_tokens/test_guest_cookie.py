import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from apps.sessions_tokens.middleware import COOKIE_SALT
from apps.sessions_tokens.models import GuestSession

pytestmark = pytest.mark.django_db

COOKIE = "narcis_guest"


def test_first_visit_starts_a_session_with_a_signed_httponly_lax_cookie(client):
    response = client.get("/api/me")
    assert response.json() == {
        "authenticated": False,
        "balance": 5,
        "guest_expires_at": response.json()["guest_expires_at"],
    }
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert 7 * 86400 - 60 < int(cookie["max-age"]) <= 7 * 86400
    session = GuestSession.objects.get()
    assert cookie.value != str(session.pk)  # signed, not the bare id
    request = RequestFactory().get("/", headers={"cookie": f"{COOKIE}={cookie.value}"})
    assert request.get_signed_cookie(COOKIE, salt=COOKIE_SALT) == str(session.pk)


def test_the_cookie_brings_the_visitor_back_to_the_same_session(client):
    client.get("/api/me")
    client.get("/api/me")
    assert GuestSession.objects.count() == 1


def test_a_forged_cookie_is_ignored_and_replaced(client, guest):
    client.cookies[COOKIE] = str(guest.pk)  # the right id, but unsigned
    response = client.get("/api/me")
    assert GuestSession.objects.count() == 2
    assert response.cookies[COOKIE].value != str(guest.pk)


def test_an_expired_session_is_replaced_by_a_fresh_one(client):
    client.get("/api/me")
    old = GuestSession.objects.get()
    old.expires_at = timezone.now() - dt.timedelta(seconds=1)
    old.save(update_fields=["expires_at"])
    response = client.get("/api/me")
    assert response.json()["balance"] == 5
    assert GuestSession.objects.exclude(pk=old.pk).count() == 1


def test_pages_that_do_not_need_a_balance_create_no_session(client):
    client.get("/health")
    client.get("/accounts/login/")
    assert GuestSession.objects.count() == 0


def test_session_duration_follows_guest_session_days(client, settings):
    settings.GUEST_SESSION_DAYS = 2
    client.get("/api/me")
    session = GuestSession.objects.get()
    assert abs((session.expires_at - session.created_at) - dt.timedelta(days=2)) < dt.timedelta(seconds=1)
