"""Free tokens per network address per day: clearing cookies does not mint endless tokens."""

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_a_day(settings):
    settings.GUEST_ALLOWANCES_PER_ADDRESS = 2
    cache.clear()
    yield
    cache.clear()


def new_visitor_balance(**meta) -> int:
    return Client().get("/api/me", **meta).json()["balance"]  # a fresh client: no cookie


def test_an_address_gets_its_allowance_twice_a_day_then_sessions_start_empty():
    assert [new_visitor_balance() for _ in range(3)] == [5, 5, 0]
    assert new_visitor_balance(REMOTE_ADDR="10.1.2.3") == 5  # another network is counted apart


def test_a_forged_forwarded_for_header_does_not_reset_the_count():
    balances = [new_visitor_balance(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(3)]
    assert balances == [5, 5, 0]


def test_behind_our_proxy_the_address_it_saw_is_counted(settings):
    settings.TRUSTED_PROXIES = 1
    assert [new_visitor_balance(HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7") for _ in range(3)] == [5, 5, 0]
    assert new_visitor_balance(HTTP_X_FORWARDED_FOR="198.51.100.8") == 5


def test_a_returning_visitor_keeps_their_session_and_costs_nothing():
    client = Client()
    assert client.get("/api/me").json()["balance"] == 5
    for _ in range(5):
        assert client.get("/api/me").json()["balance"] == 5  # same cookie, same session
    assert new_visitor_balance() == 5  # only one allowance was taken so far
