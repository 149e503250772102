"""A guest's portraits move to the account with their tokens, in the link's transaction: real threads on
PostgreSQL, submitting as the guest while the guest signs up (and while two accounts claim the session)."""

from collections import Counter

import pytest

from apps.generation import services
from apps.generation.models import GenerationJob
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as token_services
from apps.sessions_tokens.models import LedgerEntry, User
from tests.apps.sessions_tokens.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("generous_limits"),
]


def test_submissions_racing_a_sign_up_all_end_on_the_account(face_file):
    guest = token_services.guest_session_create()
    services.job_submit(owner=guest, idea="calm", face=face_file())  # one painted before the race
    user = User.objects.create_user(email="racer@example.com", password="a-long-pass-phrase-42")

    def action(i: int):
        if i == 3:
            return token_services.link_guest_to_user(session=guest, user=user)
        return services.job_submit(owner=guest, idea="calm", face=face_file())

    outcomes = race(8, action)

    assert set(outcomes) <= {"ok", "none", "InsufficientTokens"}
    jobs = GenerationJob.objects.all()
    assert not jobs.filter(guest_session=guest).exists()  # none left behind on the session
    assert (
        jobs.filter(user=user).count() == jobs.count() == LedgerEntry.objects.filter(reason="spend").count()
    )
    assert token_selectors.balance_of(user) + jobs.count() == 5 and token_selectors.balance_of(guest) == 0


def test_two_accounts_claiming_one_session_get_its_portraits_once(face_file):
    guest = token_services.guest_session_create()
    jobs = [services.job_submit(owner=guest, idea="calm", face=face_file()) for _ in range(3)]
    users = [
        User.objects.create_user(email=f"u{i}@example.com", password="a-long-pass-phrase-42")
        for i in range(4)
    ]

    outcomes = race(4, lambda i: token_services.link_guest_to_user(session=guest, user=users[i]))

    assert outcomes == Counter({"ok": 1, "none": 3})
    [owner] = set(GenerationJob.objects.values_list("user", flat=True))
    assert owner is not None and GenerationJob.objects.filter(user=owner).count() == len(jobs)
    assert token_selectors.balance_of(User.objects.get(pk=owner)) == 2
