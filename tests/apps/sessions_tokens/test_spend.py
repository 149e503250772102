import datetime as dt

import pytest
from django.utils import timezone

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.errors import (
    DuplicateReference,
    GuestSessionExpired,
    InsufficientTokens,
    InvalidAmount,
)
from apps.sessions_tokens.models import LedgerEntry, LedgerReason


def ledger_sum(owner) -> int:
    return sum(LedgerEntry.objects.filter(wallet=selectors.wallet_for(owner)).values_list("delta", flat=True))


def test_new_guest_holds_the_guest_allowance_and_its_ledger_explains_it(guest, settings):
    assert selectors.balance_of(guest) == settings.TOKEN_COUNT_FOR_GUESTS == 5
    entry = LedgerEntry.objects.get(wallet__guest_session=guest)
    assert (entry.reason, entry.delta, entry.balance_after) == (LedgerReason.GRANT, 5, 5)


def test_spend_takes_tokens_and_records_the_balance_after(guest):
    entry = services.spend(owner=guest, amount=2, reference="generation:1")
    assert (entry.reason, entry.delta, entry.balance_after, entry.reference) == (
        "spend",
        -2,
        3,
        "generation:1",
    )
    assert selectors.balance_of(guest) == 3 == ledger_sum(guest)


def test_spend_beyond_the_balance_is_refused_and_changes_nothing(guest):
    for n in range(5):
        services.spend(owner=guest, reference=f"generation:{n}")
    with pytest.raises(InsufficientTokens) as refused:
        services.spend(owner=guest, reference="generation:99")
    assert refused.value.code == "no_tokens"
    assert selectors.balance_of(guest) == 0 == ledger_sum(guest)
    assert not LedgerEntry.objects.filter(reference="generation:99").exists()


def test_spend_from_a_user_wallet(make_user):
    user = make_user()
    with pytest.raises(InsufficientTokens) as refused:
        services.spend(owner=user, reference="generation:1")
    assert "Sign up" not in refused.value.message  # they already have an account
    assert selectors.balance_of(user) == 0


def test_spend_records_who_spent(guest, make_user):
    operator = make_user(staff=True)
    entry = services.spend(owner=guest, reference="generation:5", actor=operator)
    assert entry.actor == operator


def test_expired_guest_session_cannot_spend(guest):
    guest.expires_at = timezone.now() - dt.timedelta(seconds=1)
    guest.save(update_fields=["expires_at"])
    with pytest.raises(GuestSessionExpired) as refused:
        services.spend(owner=guest, reference="generation:1")
    assert "expired" in refused.value.message and "sign up" in refused.value.message.lower()
    assert selectors.balance_of(guest) == 5


def test_one_spend_per_reference(guest):
    services.spend(owner=guest, reference="generation:7")
    with pytest.raises(DuplicateReference):
        services.spend(owner=guest, reference="generation:7")
    assert selectors.balance_of(guest) == 4 == ledger_sum(guest)


@pytest.mark.parametrize("amount,reference", [(0, "generation:1"), (-3, "generation:1"), (1, "")])
def test_spend_rejects_nonsense(guest, amount, reference):
    with pytest.raises(InvalidAmount):
        services.spend(owner=guest, amount=amount, reference=reference)
    assert selectors.balance_of(guest) == 5
