"""GET /api/me in front of Django (fast_paths/me.py, apps/sessions_tokens/guest_snapshot.py): the same
answer as Django's view, byte for byte and header for header (its CSRF cookie included), for a new visitor
and for a guest through every balance change; a stale reader never brings an old balance back; an erased,
expired or forged session, a logged-in caller, an API key and a Redis outage are Django's."""

from __future__ import annotations

import json
import logging
from http.cookies import SimpleCookie

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.test import Client
from django.utils import timezone

from apps.sessions_tokens import guest_snapshot, services
from apps.sessions_tokens.models import GuestSession
from narcis_site.fast_paths.me import MeFastPath
from tests.guests import start_guest

pytestmark = pytest.mark.django_db(transaction=True)
HOST = [(b"host", b"localhost")]
SECRET = "A" * 16 + "b" * 8 + "0123456z"  # a CSRF secret as Django writes it: 32 letters and digits


@pytest.fixture
def django_app():
    return get_asgi_application()


@pytest.fixture
def app(django_app):
    return MeFastPath(django_app)


async def call(app, cookie: str | None, caplog, *, extra=()) -> tuple[int, dict, bytes, bool]:
    """(status, headers with the Set-Cookie values parsed, body, answered by the fast path)."""
    headers = [*HOST, *([(b"cookie", cookie.encode())] if cookie else []), *extra]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="narcis.access"):
        communicator = HttpCommunicator(app, "GET", "/api/me", headers=headers)
        response = await communicator.get_response(timeout=30)
        await communicator.wait(timeout=30)  # the request's end gives its connection back
    fast = any(getattr(record, "fast_path", False) for record in caplog.records)
    named, cookies = {}, {}
    for name, value in response["headers"]:
        if name.decode().lower() == "set-cookie":
            parsed = SimpleCookie(value.decode())
            cookies.update({key: morsel for key, morsel in parsed.items()})
        else:
            named[name.decode().lower()] = value.decode()
    named["set-cookie"] = cookies
    return response["status"], named, response["body"], fast


def without_timing(headers: dict) -> dict:
    """The headers with Content-Length dropped and each cookie's attributes but `expires` (a clock
    reading, a second apart between two answers)."""
    kept = {k: v for k, v in headers.items() if k not in ("content-length", "set-cookie")}
    kept["set-cookie"] = {
        name: {attr: morsel[attr] for attr in morsel.keys() if attr != "expires"}
        for name, morsel in headers["set-cookie"].items()
    }
    return kept


def same_answer(fast, slow, *, same_secret: bool = True) -> None:
    assert fast[3] and not slow[3], "the first from the fast path, the second from Django"
    assert fast[0] == slow[0] == 200
    assert fast[2] == slow[2]  # byte for byte
    assert without_timing(fast[1]) == without_timing(slow[1])
    if same_secret:
        assert fast[1]["set-cookie"]["csrftoken"].value == slow[1]["set-cookie"]["csrftoken"].value


def guest_cookie() -> tuple[str, GuestSession]:
    client = Client()
    guest = start_guest(client)
    return f"{settings.GUEST_COOKIE_NAME}={client.cookies[settings.GUEST_COOKIE_NAME].value}", guest


async def sync(function, *args, **kwargs):
    return await sync_to_async(function, thread_sensitive=True)(*args, **kwargs)


# ---- a visitor with no session yet: no Redis needed ----


async def test_a_new_visitor_gets_djangos_answer_and_a_fresh_csrf_secret(app, django_app, caplog):
    fast = await call(app, None, caplog)
    slow = await call(django_app, None, caplog)
    same_answer(fast, slow, same_secret=False)
    assert json.loads(fast[2]) == {"authenticated": False, "balance": settings.TOKEN_COUNT_FOR_GUESTS}
    again = await call(app, None, caplog)
    secrets = {fast[1]["set-cookie"]["csrftoken"].value, again[1]["set-cookie"]["csrftoken"].value}
    assert len(secrets) == 2 and all(len(secret) == 32 and secret.isalnum() for secret in secrets)


async def test_a_visitor_keeps_their_csrf_secret(app, django_app, caplog):
    fast = await call(app, f"csrftoken={SECRET}", caplog)
    same_answer(fast, await call(django_app, f"csrftoken={SECRET}", caplog))
    assert fast[1]["set-cookie"]["csrftoken"].value == SECRET


async def test_the_secret_a_new_visitor_is_given_passes_djangos_csrf_check(app, caplog):
    given = (await call(app, None, caplog))[1]["set-cookie"]["csrftoken"].value
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = given
    refused = await sync(client.post, "/api/generations", {}, headers={"X-CSRFToken": "B" * 32})
    accepted = await sync(client.post, "/api/generations", {}, headers={"X-CSRFToken": given})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert accepted.status_code != 403  # past the CSRF check: the empty form's own error


@pytest.fixture
def loosely_spelled(settings):
    """Django's app built after the settings change (its middleware reads them when built), in setup:
    building it configures logging again, which in the test's call would drop caplog's handler."""
    settings.X_FRAME_OPTIONS = "sameorigin"  # XFrameOptionsMiddleware upper-cases it
    settings.SECURE_REFERRER_POLICY = "same-origin,  strict-origin"  # SecurityMiddleware joins the list
    return get_asgi_application()


async def test_headers_are_djangos_middlewares_own_for_loosely_spelled_settings(loosely_spelled, caplog):
    fast = await call(MeFastPath(loosely_spelled), f"csrftoken={SECRET}", caplog)
    slow = await call(loosely_spelled, f"csrftoken={SECRET}", caplog)
    same_answer(fast, slow)
    assert fast[1]["x-frame-options"] == "SAMEORIGIN"
    assert fast[1]["referrer-policy"] == "same-origin,strict-origin"


@pytest.mark.parametrize("cookie", ["csrftoken=short", "csrftoken=" + "a" * 64, "csrftoken=" + "é" * 32])
async def test_a_csrf_cookie_in_another_form_is_djangos(app, caplog, cookie):
    status, headers, _, fast = await call(app, cookie, caplog)
    assert (status, fast) == (200, False)
    assert len(headers["set-cookie"]["csrftoken"].value) == 32


async def test_logged_in_callers_api_keys_and_other_hosts_are_djangos(app, caplog, make_user):
    user = await sync(make_user, email="me@narcis.invalid")
    client = Client()
    await sync(client.force_login, user)
    session = f"sessionid={client.cookies['sessionid'].value}"
    status, _, body, fast = await call(app, session, caplog)
    assert (status, fast) == (200, False) and json.loads(body)["email"] == "me@narcis.invalid"
    status, _, _, fast = await call(app, None, caplog, extra=[(b"authorization", b"Bearer nrc_x")])
    assert (status, fast) == (401, False)
    communicator = HttpCommunicator(app, "GET", "/api/me", headers=[(b"host", b"evil.example")])
    response = await communicator.get_response(timeout=30)
    await communicator.wait(timeout=30)
    assert response["status"] == 400


async def test_csrf_in_sessions_leaves_every_call_to_django(django_app, caplog, settings):
    settings.CSRF_USE_SESSIONS = True
    assert not (await call(MeFastPath(django_app), None, caplog))[3]


# ---- a guest: the snapshot in Redis ----


@pytest.mark.redis
async def test_a_guest_reads_the_same_from_the_snapshot_through_every_balance_change(app, django_app, caplog):
    cookie, guest = await sync(guest_cookie)
    cookie += f"; csrftoken={SECRET}"
    same_answer(await call(app, cookie, caplog), await call(django_app, cookie, caplog))
    balance = settings.TOKEN_COUNT_FOR_GUESTS
    assert json.loads((await call(app, cookie, caplog))[2])["balance"] == balance

    await sync(services.spend, owner=guest, amount=1, reference="generation:one")
    fast = await call(app, cookie, caplog)
    assert fast[3] and json.loads(fast[2])["balance"] == balance - 1
    same_answer(fast, await call(django_app, cookie, caplog))

    await sync(services.refund, reference="generation:one")
    fast = await call(app, cookie, caplog)
    assert fast[3] and json.loads(fast[2])["balance"] == balance
    same_answer(fast, await call(django_app, cookie, caplog))


@pytest.mark.redis
async def test_a_miss_is_djangos_and_writes_the_snapshot_back(app, caplog):
    cookie, guest = await sync(guest_cookie)
    guest_snapshot.client().delete(guest_snapshot.session_key(guest.pk))
    status, _, body, fast = await call(app, cookie, caplog)
    assert (status, fast) == (200, False) and json.loads(body)["balance"] == settings.TOKEN_COUNT_FOR_GUESTS
    assert guest_snapshot.client().exists(guest_snapshot.session_key(guest.pk))
    assert (await call(app, cookie, caplog))[3]


@pytest.mark.redis
def test_a_reader_that_read_before_a_spend_cannot_put_the_old_balance_back(db):
    _, guest = guest_cookie()
    before = guest_snapshot._fields(guest.pk)  # a miss's read, then the reader stalls
    services.spend(owner=guest, amount=1, reference="generation:late")
    key = guest_snapshot.session_key(guest.pk)
    guest_snapshot.write(guest.pk, *before)
    stored = json.loads(guest_snapshot.client().hget(key, "body"))
    assert stored["balance"] == settings.TOKEN_COUNT_FOR_GUESTS - 1


@pytest.mark.redis
async def test_an_erased_guest_is_never_answered_from_the_snapshot(app, caplog):
    cookie, guest = await sync(guest_cookie)
    assert (await call(app, cookie, caplog))[3]
    stale = await sync(guest_snapshot._fields, guest.pk)
    key = guest_snapshot.session_key(guest.pk)  # before the erasure, which empties guest.pk
    await sync(services.guest_erase, session=guest)
    assert guest_snapshot.client().hget(key, "version") == b"gone"
    await sync(guest_snapshot.write, guest.pk, *stale)
    status, headers, body, fast = await call(app, cookie, caplog)
    assert (status, fast) == (200, False)
    assert "guest_expires_at" not in json.loads(body)  # a visitor with no session now
    assert headers["set-cookie"][settings.GUEST_COOKIE_NAME].value == ""  # Django deletes the cookie


@pytest.mark.redis
async def test_an_expired_session_is_djangos(app, caplog):
    cookie, guest = await sync(guest_cookie)
    await sync(lambda: GuestSession.objects.filter(pk=guest.pk).update(expires_at=timezone.now()))
    await sync(guest_snapshot.refresh, guest.pk)
    status, headers, _, fast = await call(app, cookie, caplog)
    assert (status, fast) == (200, False)
    assert headers["set-cookie"][settings.GUEST_COOKIE_NAME].value == ""


@pytest.mark.redis
async def test_a_forged_guest_cookie_is_djangos(app, caplog):
    cookie, _ = await sync(guest_cookie)
    forged = cookie.rsplit(":", 1)[0] + ":forged"
    status, headers, body, fast = await call(app, forged, caplog)
    assert (status, fast) == (200, False) and "guest_expires_at" not in json.loads(body)


@pytest.mark.redis
async def test_tokens_moved_to_an_account_leave_the_old_guest_cookie_at_zero(app, caplog, make_user):
    cookie, guest = await sync(guest_cookie)
    user = await sync(make_user, email="kept@narcis.invalid")
    await sync(services.link_guest_to_user, session=guest, user=user)
    fast = await call(app, cookie, caplog)
    assert fast[3] and json.loads(fast[2])["balance"] == 0


@pytest.mark.redis
def test_the_tombstone_is_written_before_the_rows_go(db, monkeypatch):
    """A Redis fault at the commit's write still leaves the erased session declined."""
    _, guest = guest_cookie()
    key = guest_snapshot.session_key(guest.pk)
    monkeypatch.setattr(guest_snapshot, "refresh", lambda session_id: None)  # the commit's write is lost
    services.guest_erase(session=guest)
    assert guest_snapshot.client().hget(key, "version") == b"gone"


@pytest.mark.redis
async def test_a_body_written_by_another_release_is_djangos(app, caplog):
    cookie, guest = await sync(guest_cookie)
    key = guest_snapshot.session_key(guest.pk)
    guest_snapshot.client().hset(key, "format", "older-schema")
    assert not (await call(app, cookie, caplog))[3]
    assert guest_snapshot.client().hget(key, "format") == guest_snapshot.FORMAT.encode()  # written again
    assert (await call(app, cookie, caplog))[3]


@pytest.mark.redis
async def test_redis_down_leaves_guests_to_django(django_app, caplog, settings, monkeypatch):
    cookie, _ = await sync(guest_cookie)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there, for the fast path and the view
    monkeypatch.setattr(guest_snapshot, "_client", None)
    status, _, body, fast = await call(MeFastPath(django_app), cookie, caplog)
    assert (status, fast) == (200, False) and json.loads(body)["balance"] == settings.TOKEN_COUNT_FOR_GUESTS
    with caplog.at_level(logging.WARNING, logger="narcis.tokens.snapshot"):
        await call(django_app, cookie, caplog)
    assert any(record.message == "guest snapshot not written" for record in caplog.records)
