"""Free tokens per network address per day: clearing cookies does not mint endless tokens. The
allowance is taken by a visitor's first portrait, never by reading a page."""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.apps.generation.test_api import ASTRONAUT, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_a_day(settings):
    settings.GUEST_ALLOWANCES_PER_ADDRESS = 2
    settings.GENERATIONS_MAX_QUEUED = 10
    cache.clear()
    yield
    cache.clear()


def new_visitor_submit(**meta) -> int:
    """A fresh client (no cookie) submits its first portrait: 201, or 402 when it came with no tokens."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    return Client().post("/api/generations", {"idea": "calm", "face": face}, **meta).status_code


def test_an_address_gets_its_allowance_twice_a_day_then_sessions_start_empty():
    assert [new_visitor_submit() for _ in range(3)] == [201, 201, 402]
    assert new_visitor_submit(REMOTE_ADDR="10.1.2.3") == 201  # another network is counted apart


def test_a_forged_forwarded_for_header_does_not_reset_the_count():
    statuses = [new_visitor_submit(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(3)]
    assert statuses == [201, 201, 402]


def test_behind_our_proxy_the_address_it_saw_is_counted(settings):
    settings.TRUSTED_PROXIES = 1
    statuses = [new_visitor_submit(HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7") for _ in range(3)]
    assert statuses == [201, 201, 402]
    assert new_visitor_submit(HTTP_X_FORWARDED_FOR="198.51.100.8") == 201


def test_reading_pages_takes_no_allowance():
    for _ in range(5):
        reader = Client()
        assert reader.get("/").status_code == 200 and reader.get("/api/me").json()["balance"] == 5
    assert [new_visitor_submit() for _ in range(3)] == [201, 201, 402]  # both allowances still there


def test_a_returning_visitor_keeps_their_session_and_costs_nothing():
    client = Client()
    assert submit(client).status_code == 201
    for _ in range(3):
        assert client.get("/api/me").json()["balance"] == 4  # same cookie, same session
    assert new_visitor_submit() == 201  # only one allowance was taken so far
