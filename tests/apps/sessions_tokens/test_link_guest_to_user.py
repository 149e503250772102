import datetime as dt

from django.utils import timezone

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.models import LedgerEntry


def test_link_moves_the_guest_balance_once(guest, make_user):
    services.spend(owner=guest, reference="generation:1")
    user = make_user()
    entry = services.link_guest_to_user(session=guest, user=user)
    assert (entry.reason, entry.delta, entry.balance_after) == ("transfer", 4, 4)
    assert services.link_guest_to_user(session=guest, user=user) is None
    assert selectors.balance_of(user) == 4 and selectors.balance_of(guest) == 0
    guest.refresh_from_db()
    assert guest.linked_user == user and guest.linked_at is not None
    transfers = LedgerEntry.objects.filter(reason="transfer", reference=f"guest:{guest.pk}")
    assert sorted(transfers.values_list("delta", flat=True)) == [-4, 4]


def test_a_second_account_cannot_take_the_same_guest_tokens(guest, make_user):
    first, second = make_user(), make_user()
    services.link_guest_to_user(session=guest, user=first)
    assert services.link_guest_to_user(session=guest, user=second) is None
    assert selectors.balance_of(first) == 5 and selectors.balance_of(second) == 0


def test_expired_guest_tokens_do_not_move(guest, make_user):
    guest.expires_at = timezone.now() - dt.timedelta(minutes=1)
    guest.save(update_fields=["expires_at"])
    user = make_user()
    assert services.link_guest_to_user(session=guest, user=user) is None
    assert selectors.balance_of(user) == 0
