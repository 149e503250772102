"""Accounts people can manage: email verification at sign-up, password change, "forgot password" by
email (Django's views and tokens), and sign-up and reset pages that answer the same whether an address
has an account or not. Emails are read from Django's locmem outbox (pytest-django's test backend)."""

import re
from unittest import mock

import pytest
from django.core import mail
from django.test import Client

from apps.sessions_tokens import selectors
from apps.sessions_tokens.models import GuestSession, User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing", "fresh_cache")]

PASSWORD = "violet-harbour-lantern-7"
NEW_PASSWORD = "copper-meadow-signal-42"


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def signup(client, email, password=PASSWORD):
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password})


def main_card(client) -> str:
    page = client.get("/accounts/signup/sent/").content.decode()
    return page[page.index('<section class="card narrow">') : page.index("</section>")]


def test_signup_logs_in_moves_the_guest_tokens_and_sends_a_verification_link(client):
    assert client.get("/api/me").json()["balance"] == 5
    response = signup(client, "Ada@Example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/sent/"
    user = User.objects.get()
    assert user.email == "ada@example.com" and not user.email_verified
    assert client.get("/api/me").json() == {"authenticated": True, "email": "ada@example.com", "balance": 5}
    assert selectors.balance_of(GuestSession.objects.get()) == 0
    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and "Confirm your email" in message.subject

    profile = client.get("/accounts/").content.decode()
    assert "is not confirmed yet" in profile and "Send me a new link" in profile
    response = client.get(path_of(link_in(message)), follow=True)
    assert "ada@example.com is confirmed" in response.content.decode()
    assert User.objects.get().email_verified
    assert client.get(path_of(link_in(message))).status_code == 302  # opening it twice is fine


def test_signup_with_an_existing_address_looks_the_same_and_tells_its_owner(client, make_user):
    ada = make_user(email="ada@example.com", password=PASSWORD)
    newcomer = Client()
    signup(newcomer, "newcomer@example.com")
    expected = main_card(newcomer).replace("newcomer@example.com", "ADDRESS")

    response = signup(client, "ADA@example.com", password="another-pass-phrase-77")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/sent/"
    assert main_card(client).replace("ada@example.com", "ADDRESS") == expected
    assert client.get("/api/me").json()["authenticated"] is False  # logged in as nobody
    assert User.objects.count() == 2
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)
    attempt = mail.outbox[-1]
    assert attempt.to == ["ada@example.com"] and "tried to sign up" in attempt.subject
    assert "/accounts/login/" in attempt.body and "/accounts/password/reset/" in attempt.body


def test_signup_still_enforces_the_password_rules_for_any_address(client, make_user):
    make_user(email="ada@example.com")
    for email in ("ada@example.com", "new@example.com"):
        response = client.post("/accounts/signup/", {"email": email, "password1": "123", "password2": "123"})
        assert response.status_code == 200 and b"too short" in response.content
    assert mail.outbox == []


def test_a_broken_or_expired_verification_link_says_what_to_do(client, make_user, settings):
    from apps.sessions_tokens.email_verification import verification_token

    user = make_user(email="ada@example.com")
    response = client.get(f"/accounts/verify/{verification_token(user)[:-3]}xyz/")
    assert response.status_code == 400 and b"copy the whole link" in response.content
    with mock.patch("django.core.signing.time.time", return_value=1_000_000):
        old = verification_token(user)
    response = client.get(f"/accounts/verify/{old}/")
    assert response.status_code == 400 and b"has expired" in response.content
    assert not User.objects.get().email_verified


def test_resend_sends_a_new_link_at_most_once_a_minute(client, make_user):
    client.force_login(make_user(email="ada@example.com"))
    first = client.post("/accounts/verify/resend/", follow=True).content.decode()
    second = client.post("/accounts/verify/resend/", follow=True).content.decode()
    assert "A new confirmation link is on its way" in first and "less than a minute ago" in second
    assert len(mail.outbox) == 1


def test_password_change_checks_the_current_one_and_logs_out_other_devices(client, make_user):
    user = make_user(email="ada@example.com", password=PASSWORD)
    other_device = Client()
    other_device.force_login(user)
    client.force_login(user)
    change = {
        "old_password": "wrong-wrong-wrong",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    assert b"That is not your current password" in client.post("/accounts/password/", change).content

    response = client.post("/accounts/password/", {**change, "old_password": PASSWORD}, follow=True)
    assert "Your password is changed" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/api/me").json()["authenticated"] is True
    assert other_device.get("/api/me").json()["authenticated"] is False
    [message] = mail.outbox
    assert "password was changed" in message.subject


def test_forgot_password_by_email_end_to_end(client, make_user):
    """Locked out after ten wrong passwords, the owner resets by email: the new password works at once
    (the reset lifts the account's lockout) and the address counts as confirmed."""
    user = make_user(email="ada@example.com", password=PASSWORD)
    for _ in range(10):
        client.post("/accounts/login/", {"username": user.email, "password": "guess-guess-guess"})
    assert b"Forgot your password?" in client.get("/accounts/login/").content

    response = client.post("/accounts/password/reset/", {"email": "ADA@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and "Choose a new Narcis password" in message.subject
    form = client.get(path_of(link_in(message)), follow=True)
    assert b"Choose a new password" in form.content
    set_password = form.redirect_chain[-1][0]
    done = client.post(
        set_password, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert b"Your new password is saved" in done.content
    assert (
        client.post("/accounts/login/", {"username": user.email, "password": NEW_PASSWORD}).status_code == 302
    )
    assert User.objects.get().email_verified
    # The link worked once.
    assert b"This link did not work" in Client().get(path_of(link_in(message)), follow=True).content


def test_reset_answers_the_same_for_unknown_addresses_and_floods_nobody(client, make_user):
    make_user(email="ada@example.com")
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    known = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    again = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert {r["Location"] for r in (unknown, known, again)} == {"/accounts/password/reset/sent/"}
    assert len(mail.outbox) == 1  # none for the unknown address, one a minute for the known one
