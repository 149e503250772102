"""The visitors' limits hold under parallel submits: 30 real threads, each on its own PostgreSQL
connection, submitting for one account at once. The limits are counted under the wallet row's lock,
inside the transaction that spends the token, so the count each submit sees includes every submit
committed before it."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from apps.generation.errors import Refused
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens import api_keys
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import LedgerEntry
from tests.apps.sessions_tokens.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PARALLEL = 30


def face() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def submit_all(owner, api_key=None) -> Counter:
    from apps.generation import services

    def submit(i: int):
        try:
            return services.job_submit(owner=owner, idea="calm", face=face(), api_key=api_key)
        except Refused as refused:
            raise RuntimeError(refused.code) from None  # counted by its code

    outcomes = race(PARALLEL, submit)
    return Counter({name: count for name, count in outcomes.items()})


def assert_exact(owner, user_start: int, jobs: int, settings) -> None:
    assert token_selectors.balance_of(owner) == user_start - jobs
    assert LedgerEntry.objects.filter(reason="spend").count() == jobs
    faces = (
        list((settings.MEDIA_ROOT / "faces").glob("*")) if (settings.MEDIA_ROOT / "faces").exists() else []
    )
    assert len(faces) == jobs  # the refused submits left no photo behind


@pytest.fixture
def funded_user(make_user, staff_user):
    user = make_user()
    tokens.grant(owner=user, amount=PARALLEL, actor=staff_user, reason="race")
    return user


def test_thirty_parallel_submits_with_two_allowed_in_the_queue_queue_exactly_two(
    funded_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.GENERATIONS_MAX_QUEUED, settings.GENERATIONS_PER_MINUTE = 2, 100
    outcomes = submit_all(funded_user)
    assert outcomes == Counter({"ok": 2, "RuntimeError": PARALLEL - 2}), outcomes
    assert GenerationJob.objects.filter(status=JobStatus.QUEUED).count() == 2
    assert_exact(funded_user, PARALLEL, 2, settings)


def test_thirty_parallel_submits_with_three_a_minute_create_exactly_three(funded_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GENERATIONS_MAX_QUEUED, settings.GENERATIONS_PER_MINUTE = 100, 3
    outcomes = submit_all(funded_user)
    assert outcomes == Counter({"ok": 3, "RuntimeError": PARALLEL - 3}), outcomes
    assert GenerationJob.objects.count() == 3
    assert_exact(funded_user, PARALLEL, 3, settings)


def test_thirty_parallel_submits_with_one_api_key_allowed_five_queue_exactly_five(
    funded_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.API_KEY_MAX_QUEUED, settings.API_KEY_GENERATIONS_PER_MINUTE = 5, 100
    settings.GENERATIONS_MAX_QUEUED = 1  # the page's allowance: not the one a key's submits count against
    key = api_keys.api_key_create(user=funded_user, name="batch", scopes=["generations:write"]).record
    outcomes = submit_all(funded_user, api_key=key)
    assert outcomes == Counter({"ok": 5, "RuntimeError": PARALLEL - 5}), outcomes
    assert GenerationJob.objects.filter(status=JobStatus.QUEUED, api_key=key).count() == 5
    assert_exact(funded_user, PARALLEL, 5, settings)
