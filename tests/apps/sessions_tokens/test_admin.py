import pytest
from django.urls import reverse

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.models import LedgerEntry

ADMIN_PAGES = [
    "admin:index",
    "admin:sessions_tokens_user_changelist",
    "admin:sessions_tokens_guestsession_changelist",
    "admin:sessions_tokens_ledgerentry_changelist",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_refuses_anonymous_and_non_staff(client, make_user, page):
    assert client.get(reverse(page)).status_code == 302
    client.force_login(make_user())
    response = client.get(reverse(page))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_opens_for_staff(client, staff_user, guest, page):
    services.spend(owner=guest, reference="generation:1")
    client.force_login(staff_user)
    assert client.get(reverse(page)).status_code == 200


def test_user_list_shows_balances(client, staff_user, make_user):
    user = make_user(email="ada@example.com")
    services.grant(owner=user, amount=4, actor=staff_user, reason="test")
    client.force_login(staff_user)
    page = client.get(reverse("admin:sessions_tokens_user_changelist")).content.decode()
    assert "ada@example.com" in page and '<td class="field-balance">4</td>' in page


def test_grant_action_asks_for_amount_and_reason_then_grants(client, staff_user, make_user):
    users = [make_user(), make_user()]
    client.force_login(staff_user)
    url = reverse("admin:sessions_tokens_user_changelist")
    selection = {"action": "grant_tokens", "_selected_action": [u.pk for u in users]}
    form_page = client.post(url, selection)
    assert form_page.status_code == 200 and b"Grant tokens" in form_page.content
    assert all(selectors.balance_of(u) == 0 for u in users)
    done = client.post(url, {**selection, "apply": "1", "amount": "3", "reason": "beta testers"}, follow=True)
    assert b"Granted 3 tokens to 2 of 2 owner(s)" in done.content
    assert [selectors.balance_of(u) for u in users] == [3, 3]
    entry = LedgerEntry.objects.filter(reason="grant").first()
    assert (entry.actor, entry.note) == (staff_user, "beta testers")


def test_grant_action_without_a_reason_grants_nothing(client, staff_user, guest):
    client.force_login(staff_user)
    url = reverse("admin:sessions_tokens_guestsession_changelist")
    response = client.post(
        url,
        {"action": "grant_tokens", "_selected_action": [guest.pk], "apply": "1", "amount": "3", "reason": ""},
    )
    assert response.status_code == 200 and b"This field is required" in response.content
    assert selectors.balance_of(guest) == 5


def test_ledger_is_read_only_in_admin(client, staff_user, guest):
    client.force_login(staff_user)
    entry = LedgerEntry.objects.get(wallet__guest_session=guest)
    assert client.get(reverse("admin:sessions_tokens_ledgerentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:sessions_tokens_ledgerentry_delete", args=[entry.pk])).status_code == 403
    )
    client.post(reverse("admin:sessions_tokens_ledgerentry_change", args=[entry.pk]), {"delta": "999"})
    entry.refresh_from_db()
    assert entry.delta == 5


def test_staff_without_the_grant_permission_cannot_grant(client, make_user):
    from django.contrib.auth.models import Permission

    viewer, target = make_user(staff=True), make_user()
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(viewer)
    url = reverse("admin:sessions_tokens_user_changelist")
    page = client.get(url).content.decode()
    assert "grant_tokens" not in page  # the action is not offered
    client.post(
        url,
        {
            "action": "grant_tokens",
            "_selected_action": [viewer.pk, target.pk],
            "apply": "1",
            "amount": "10000",
            "reason": "me",
        },
    )
    assert selectors.balance_of(viewer) == 0 and selectors.balance_of(target) == 0


def test_the_grant_permission_is_enough_without_superuser(client, make_user):
    from django.contrib.auth.models import Permission

    granter, target = make_user(staff=True), make_user()
    granter.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "grant_tokens"]))
    services.grant(owner=target, amount=2, actor=granter, reason="support")
    assert selectors.balance_of(target) == 2
