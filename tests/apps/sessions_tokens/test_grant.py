import pytest
from django.core.exceptions import PermissionDenied

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.errors import InvalidAmount


def test_staff_grant_is_recorded_with_actor_and_reason(make_user, staff_user):
    user = make_user()
    entry = services.grant(owner=user, amount=10, actor=staff_user, reason="support ticket 12")
    assert (entry.reason, entry.delta, entry.balance_after, entry.actor, entry.note) == (
        "grant",
        10,
        10,
        staff_user,
        "support ticket 12",
    )
    assert selectors.balance_of(user) == 10


def test_grant_to_a_guest_session(guest, staff_user):
    services.grant(owner=guest, amount=3, actor=staff_user, reason="apology")
    assert selectors.balance_of(guest) == 8


def test_non_staff_cannot_grant(make_user):
    user, other = make_user(), make_user()
    with pytest.raises(PermissionDenied):
        services.grant(owner=other, amount=5, actor=user, reason="friends")
    assert selectors.balance_of(other) == 0


@pytest.mark.parametrize("amount,reason", [(0, "x"), (-5, "x"), (services.MAX_GRANT + 1, "x"), (5, "   ")])
def test_grant_rejects_bad_amounts_and_empty_reasons(make_user, staff_user, amount, reason):
    user = make_user()
    with pytest.raises(InvalidAmount):
        services.grant(owner=user, amount=amount, actor=staff_user, reason=reason)
    assert selectors.balance_of(user) == 0


def test_staff_without_the_grant_permission_is_refused(make_user):
    curator, user = make_user(staff=True), make_user()
    with pytest.raises(PermissionDenied, match="grant tokens"):
        services.grant(owner=user, amount=5, actor=curator, reason="curators cannot mint")
