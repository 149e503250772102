"""Real threads, each on its own PostgreSQL connection, racing on the same rows."""

import threading
import time
from collections import Counter

import pytest
from django.db import close_old_connections, connection, transaction

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.errors import InsufficientTokens
from apps.sessions_tokens.models import LedgerEntry, User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, action) -> Counter:
    """Run action(i) in n threads released together; count outcomes by result type or exception."""
    barrier = threading.Barrier(n)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker(i: int):
        try:
            barrier.wait()
            result = action(i)
            outcome = "none" if result is None else "ok"
        except Exception as exc:  # noqa: BLE001 - every outcome is counted and asserted on
            outcome = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()
    return outcomes


def test_twenty_threads_spending_from_five_tokens_spend_exactly_five():
    guest = services.guest_session_create()
    outcomes = race(20, lambda i: services.spend(owner=guest, reference=f"generation:{i}"))
    assert outcomes == Counter({"ok": 5, InsufficientTokens.__name__: 15})
    assert selectors.balance_of(guest) == 0
    wallet = selectors.wallet_for(guest)
    assert sum(LedgerEntry.objects.filter(wallet=wallet).values_list("delta", flat=True)) == 0
    assert LedgerEntry.objects.filter(wallet=wallet, reason="spend").count() == 5


def test_concurrent_logins_of_one_session_transfer_once():
    guest = services.guest_session_create()
    user = User.objects.create_user(email="racer@example.com", password="a-long-pass-phrase-42")
    outcomes = race(8, lambda i: services.link_guest_to_user(session=guest, user=user))
    assert outcomes == Counter({"ok": 1, "none": 7})
    assert selectors.balance_of(user) == 5 and selectors.balance_of(guest) == 0
    assert LedgerEntry.objects.filter(reason="transfer").count() == 2


def test_concurrent_logins_into_different_accounts_transfer_once():
    guest = services.guest_session_create()
    users = [
        User.objects.create_user(email=f"u{i}@example.com", password="a-long-pass-phrase-42")
        for i in range(4)
    ]
    outcomes = race(4, lambda i: services.link_guest_to_user(session=guest, user=users[i]))
    assert outcomes == Counter({"ok": 1, "none": 3})
    assert sorted(selectors.balance_of(user) for user in users) == [0, 0, 0, 5]


def test_concurrent_refunds_of_one_spend_refund_once():
    guest = services.guest_session_create()
    services.spend(owner=guest, reference="generation:1")
    refunds = []
    outcomes = race(10, lambda i: refunds.append(services.refund(reference="generation:1").pk) or True)
    assert outcomes == Counter({"ok": 10})  # every caller gets the one refund back, none errors
    assert len(set(refunds)) == 1
    assert selectors.balance_of(guest) == 5
    assert LedgerEntry.objects.filter(reason="refund").count() == 1


def test_spends_racing_a_login_never_lose_or_double_a_token():
    guest = services.guest_session_create()
    user = User.objects.create_user(email="mixed@example.com", password="a-long-pass-phrase-42")

    def action(i: int):
        if i == 0:
            return services.link_guest_to_user(session=guest, user=user)
        return services.spend(owner=guest, reference=f"generation:{i}")

    outcomes = race(6, action)
    assert set(outcomes) <= {"ok", "none", InsufficientTokens.__name__}
    spent = LedgerEntry.objects.filter(reason="spend").count()
    assert selectors.balance_of(guest) + selectors.balance_of(user) + spent == 5
    for owner in (guest, user):
        wallet = selectors.wallet_for(owner)
        assert (
            sum(LedgerEntry.objects.filter(wallet=wallet).values_list("delta", flat=True)) == wallet.balance
        )


def test_a_refund_racing_a_login_lands_on_the_account():
    """The login holds the session row while it links; the refund must wait and then follow the link."""
    guest = services.guest_session_create()
    services.spend(owner=guest, reference="generation:1")
    user = User.objects.create_user(email="late@example.com", password="a-long-pass-phrase-42")
    linked, refund_started = threading.Event(), threading.Event()

    def slow_login():
        try:
            with transaction.atomic():
                services.link_guest_to_user(session=guest, user=user)
                linked.set()
                refund_started.wait(10)
                time.sleep(0.3)  # keep the transaction (and its row locks) open while the refund runs
        finally:
            connection.close()

    def refund():
        try:
            linked.wait(10)
            refund_started.set()
            services.refund(reference="generation:1")
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_login), threading.Thread(target=refund)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    close_old_connections()
    assert selectors.balance_of(user) == 5 and selectors.balance_of(guest) == 0
