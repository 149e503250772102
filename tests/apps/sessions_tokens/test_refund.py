import pytest

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.errors import UnknownReference
from apps.sessions_tokens.models import LedgerEntry


def test_refund_gives_back_exactly_what_was_spent(guest):
    services.spend(owner=guest, amount=2, reference="generation:1")
    entry = services.refund(reference="generation:1")
    assert (entry.reason, entry.delta, entry.balance_after) == ("refund", 2, 5)
    assert selectors.balance_of(guest) == 5


def test_refund_twice_refunds_once(guest):
    services.spend(owner=guest, reference="generation:1")
    first = services.refund(reference="generation:1")
    second = services.refund(reference="generation:1")
    assert first.pk == second.pk
    assert selectors.balance_of(guest) == 5
    assert LedgerEntry.objects.filter(reason="refund", reference="generation:1").count() == 1


def test_refund_of_an_unknown_reference_is_a_clear_error(db):
    with pytest.raises(UnknownReference) as error:
        services.refund(reference="generation:404")
    assert error.value.code == "unknown_reference"
    assert "generation:404" in error.value.message


def test_refund_after_signup_goes_to_the_account_the_tokens_moved_to(guest, make_user):
    services.spend(owner=guest, reference="generation:1")
    user = make_user()
    services.link_guest_to_user(session=guest, user=user)
    assert selectors.balance_of(user) == 4
    services.refund(reference="generation:1")
    assert selectors.balance_of(user) == 5
    assert selectors.balance_of(guest) == 0
