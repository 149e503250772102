"""Login throttling (django-axes, apps/sessions_tokens/throttling.py): the site login, the admin login and
the password re-checks (delete my account, change my password) share one count per account and one per
address; the 10th failure within LOGIN_LOCKOUT_MINUTES locks, and the 11th try is refused even with the
right password, with 429, Retry-After and a page that says when to come back."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.test import AsyncClient, Client
from django.utils import timezone

from apps.sessions_tokens.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "violet-harbour-lantern-7"
WRONG = "not-my-password-at-all"
LOCKOUT_S = 15 * 60


@pytest.fixture
def ada(make_user):
    return make_user(email="ada@example.com", password=PASSWORD)


def fail_logins(client, count, email="ada@example.com", path="/accounts/login/", **extra):
    return [client.post(path, {"username": email, "password": WRONG}, **extra) for _ in range(count)]


def assert_locked_out(response):
    assert response.status_code == 429
    seconds = int(response["Retry-After"])
    assert LOCKOUT_S - 60 <= seconds <= LOCKOUT_S
    page = response.content.decode()
    assert "Too many wrong passwords" in page and "Try again in 15 minutes" in page
    assert "/accounts/password/reset/" in page


def test_the_11th_site_login_is_refused_even_with_the_right_password(client, ada):
    # Case does not split the count: ADA@ and ada@ are one account.
    answers = fail_logins(client, 5) + fail_logins(client, 5, email="ADA@Example.com")
    assert [a.status_code for a in answers] == [200] * 9 + [429]
    assert b"do not match an account" in answers[0].content
    assert_locked_out(answers[-1])

    # The 11th, right password, through the ASGI handler daphne runs (same middleware chain).
    right = async_to_sync(AsyncClient().post)(
        "/accounts/login/", {"username": ada.email, "password": PASSWORD}
    )
    assert_locked_out(right)
    assert client.get("/api/me").json()["authenticated"] is False


def test_account_and_address_are_counted_apart(ada, make_user):
    bob = make_user(email="bob@example.com", password=PASSWORD)
    attacker, elsewhere = Client(REMOTE_ADDR="203.0.113.9"), Client(REMOTE_ADDR="198.51.100.20")
    fail_logins(attacker, 10)

    # Another account from another address: unaffected (a second client, as a second web process would be).
    assert (
        elsewhere.post("/accounts/login/", {"username": bob.email, "password": PASSWORD}).status_code == 302
    )
    # The locked account, from anywhere: refused.
    assert_locked_out(
        Client(REMOTE_ADDR="192.0.2.1").post(
            "/accounts/login/", {"username": ada.email, "password": PASSWORD}
        )
    )
    # Any account from the locked address: refused.
    assert_locked_out(attacker.post("/accounts/login/", {"username": bob.email, "password": PASSWORD}))


def test_the_lockout_ends_after_the_window(client, ada):
    fail_logins(client, 10)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert client.post("/accounts/login/", {"username": ada.email, "password": PASSWORD}).status_code == 302


def test_the_address_is_the_one_our_proxy_saw(client, ada, settings):
    settings.TRUSTED_PROXIES = 1
    fail_logins(client, 1, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.7")  # the client wrote the first
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


def test_the_11th_admin_login_is_refused_even_with_the_right_password(client, make_user):
    staff = make_user(email="staff@example.com", password=PASSWORD, staff=True)
    answers = fail_logins(client, 10, email=staff.email, path="/admin/login/")
    assert [a.status_code for a in answers] == [200] * 9 + [429]
    right = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert_locked_out(right)
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_the_11th_delete_account_check_is_refused_even_with_the_right_password(client, ada):
    client.force_login(ada)
    answers = [client.post("/accounts/delete/", {"password": WRONG}) for _ in range(10)]
    assert [a.status_code for a in answers] == [400] * 9 + [429]
    assert b"That is not your password" in answers[0].content
    assert_locked_out(client.post("/accounts/delete/", {"password": PASSWORD}))
    assert User.objects.filter(pk=ada.pk).exists()


def test_every_password_check_adds_to_one_count(client, ada):
    """Wrong current passwords on the password change count with the logins and the delete checks; the
    new password typed there is never stored with the failed attempt."""
    client.force_login(ada)
    change = {
        "old_password": WRONG,
        "new_password1": "a-fresh-secret-91",
        "new_password2": "a-fresh-secret-91",
    }
    answers = [client.post("/accounts/password/", change) for _ in range(4)]
    assert b"That is not your current password" in answers[0].content
    answers += [client.post("/accounts/delete/", {"password": WRONG}) for _ in range(3)]
    client.logout()
    answers += fail_logins(client, 3)
    assert [a.status_code for a in answers][-1] == 429
    assert_locked_out(client.post("/accounts/login/", {"username": ada.email, "password": PASSWORD}))
    stored = "".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "a-fresh-secret-91" not in stored and WRONG not in stored


def test_staff_unlock_an_account_from_the_admin(client, ada, staff_user):
    fail_logins(client, 10)
    admin = Client()
    admin.force_login(staff_user)
    assert admin.get("/admin/axes/accessattempt/").status_code == 200  # axes' own list of failures
    response = admin.post(
        "/admin/sessions_tokens/user/", {"action": "unlock_logins", "_selected_action": [ada.pk]}, follow=True
    )
    assert b"Unlocked 1 account(s)" in response.content
    assert client.post("/accounts/login/", {"username": ada.email, "password": PASSWORD}).status_code == 302


def test_staff_unlock_by_deleting_the_attempts_in_axes_admin(client, ada, staff_user):
    fail_logins(client, 10)
    admin = Client()
    admin.force_login(staff_user)
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert client.post("/accounts/login/", {"username": ada.email, "password": PASSWORD}).status_code == 302
