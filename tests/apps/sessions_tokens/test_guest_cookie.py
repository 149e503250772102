"""A guest session starts with the visitor's first portrait (the first action that spends a token),
never with a read: a page, /api/me, a bot's GET cost no session, no wallet and no daily allowance."""

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from apps.generation.models import GenerationJob
from apps.sessions_tokens.middleware import COOKIE_SALT
from apps.sessions_tokens.models import GuestSession, Wallet
from tests.apps.generation.test_api import submit

pytestmark = pytest.mark.django_db

COOKIE = "narcis_guest"


def test_the_first_submit_starts_a_session_with_a_signed_httponly_lax_cookie(client):
    response = submit(client)
    assert response.status_code == 201, response.content
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert 7 * 86400 - 60 < int(cookie["max-age"]) <= 7 * 86400
    session = GuestSession.objects.get()
    assert GenerationJob.objects.get().guest_session == session
    assert cookie.value != str(session.pk)  # signed, not the bare id
    request = RequestFactory().get("/", headers={"cookie": f"{COOKIE}={cookie.value}"})
    assert request.get_signed_cookie(COOKIE, salt=COOKIE_SALT) == str(session.pk)
    assert client.get("/api/me").json() == {
        "authenticated": False,
        "balance": 4,
        "guest_expires_at": client.get("/api/me").json()["guest_expires_at"],
    }


def test_the_cookie_brings_the_visitor_back_to_the_same_session(client, settings):
    settings.GENERATIONS_MAX_QUEUED = 5
    submit(client)
    submit(client)
    assert GuestSession.objects.count() == 1 and client.get("/api/me").json()["balance"] == 3


def test_a_forged_cookie_is_ignored_and_replaced(client, guest):
    client.cookies[COOKIE] = str(guest.pk)  # the right id, but unsigned
    response = submit(client)
    assert GuestSession.objects.count() == 2
    assert response.cookies[COOKIE].value != str(guest.pk)
    assert GenerationJob.objects.get().guest_session != guest


def test_an_expired_session_is_replaced_by_a_fresh_one_at_the_next_submit(client):
    submit(client)
    old = GuestSession.objects.get()
    old.expires_at = timezone.now() - dt.timedelta(seconds=1)
    old.save(update_fields=["expires_at"])
    assert client.get("/api/me").json() == {"authenticated": False, "balance": 5}  # the fresh start shown
    assert GuestSession.objects.count() == 1
    assert submit(client).status_code == 201
    assert GuestSession.objects.exclude(pk=old.pk).count() == 1


def test_reads_create_no_session(client):
    for path in ("/health", "/", "/api/me", "/accounts/login/", "/wall/", "/api/generations"):
        response = client.get(path)
        assert response.status_code < 500 and COOKIE not in response.cookies, path
    assert GuestSession.objects.count() == 0 and Wallet.objects.count() == 0


def test_session_duration_follows_guest_session_days(client, settings):
    settings.GUEST_SESSION_DAYS = 2
    submit(client)
    session = GuestSession.objects.get()
    assert abs((session.expires_at - session.created_at) - dt.timedelta(days=2)) < dt.timedelta(seconds=1)
