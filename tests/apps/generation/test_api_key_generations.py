"""Generations made by a program with an API key: no CSRF (a key is not a cookie a page can be tricked
into sending), the key's user owns the job and pays its token, and sees it with the browser too; CSRF
still guards cookie sessions; another user's key sees nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.generation.models import GenerationJob
from apps.sessions_tokens import api_keys, selectors, services
from tests.apps.generation.test_api import submit

pytestmark = pytest.mark.django_db
BOTH = ["generations:read", "generations:write"]


@pytest.fixture
def funded(make_user, staff_user):
    user = make_user()
    services.grant(owner=user, amount=3, actor=staff_user, reason="API test")
    return user


def test_a_key_submits_without_csrf_and_its_user_pays_and_owns_the_job(funded):
    key = api_keys.api_key_create(user=funded, name="importer", scopes=BOTH).key
    program = Client(enforce_csrf_checks=True)
    response = submit(program, Authorization=f"Bearer {key}")
    assert response.status_code == 201, response.content
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert job.user == funded and job.guest_session is None
    assert selectors.balance_of(funded) == 2
    assert (
        program.get(f"/api/generations/{job.pk}", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    browser = Client()
    browser.force_login(funded)
    assert [row["id"] for row in browser.get("/api/generations").json()] == [str(job.pk)]
    canceled = program.post(f"/api/generations/{job.pk}/cancel", headers={"Authorization": f"Bearer {key}"})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert selectors.balance_of(funded) == 3  # refunded


def test_a_cookie_session_still_needs_the_csrf_token(funded):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(funded)
    response = submit(browser)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert selectors.balance_of(funded) == 3 and not GenerationJob.objects.exists()


def test_another_users_key_sees_nothing(funded, make_user):
    mine = api_keys.api_key_create(user=funded, name="mine", scopes=BOTH).key
    theirs = api_keys.api_key_create(user=make_user(), name="theirs", scopes=BOTH).key
    job_id = submit(Client(), Authorization=f"Bearer {mine}").json()["id"]
    stranger = {"Authorization": f"Bearer {theirs}"}
    assert Client().get(f"/api/generations/{job_id}", headers=stranger).status_code == 404
    assert Client().get("/api/generations", headers=stranger).json() == []
    assert Client().delete(f"/api/generations/{job_id}", headers=stranger).status_code == 404


def test_a_key_without_tokens_gets_no_tokens_and_nothing_is_written(make_user):
    key = api_keys.api_key_create(user=make_user(), name="broke", scopes=BOTH).key
    response = submit(Client(), Authorization=f"Bearer {key}")
    assert response.status_code == 402 and response.json()["code"] == "no_tokens"
    assert not GenerationJob.objects.exists()


def test_a_key_queues_a_batch_of_fifty_and_the_page_still_two(make_user, staff_user, settings):
    """API_KEY_MAX_QUEUED (50) for a program, GENERATIONS_MAX_QUEUED (2) for its owner at the page; each
    allowance counts its own jobs, and every job spends its token."""
    assert (settings.API_KEY_MAX_QUEUED, settings.GENERATIONS_MAX_QUEUED) == (50, 2)
    user = make_user()
    services.grant(owner=user, amount=60, actor=staff_user, reason="batch")
    key = {"Authorization": f"Bearer {api_keys.api_key_create(user=user, name='batch', scopes=BOTH).key}"}
    program = Client()
    for n in range(50):
        response = submit(program, **key)
        assert response.status_code == 201, (n, response.content)
    refused = submit(program, **key)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_queued"
    assert "API key" in refused.json()["message"]
    browser = Client()
    browser.force_login(user)
    assert submit(browser).status_code == 201 and submit(browser).status_code == 201
    page_refused = submit(browser)
    assert page_refused.status_code == 429 and page_refused.json()["code"] == "too_many_queued"
    assert GenerationJob.objects.filter(user=user).count() == 52
    assert selectors.balance_of(user) == 60 - 52


def test_an_accounts_keys_share_one_allowance_and_one_rate(funded, settings):
    """A second key (or a key revoked and made anew) brings no new allowance: it would multiply it."""
    settings.API_KEY_MAX_QUEUED, settings.API_KEY_GENERATIONS_PER_MINUTE = 1, 2
    first, second = (
        {"Authorization": f"Bearer {api_keys.api_key_create(user=funded, name=name, scopes=BOTH).key}"}
        for name in ("first", "second")
    )
    assert submit(Client(), **first).status_code == 201
    assert submit(Client(), **first).json()["code"] == "too_many_queued"
    assert submit(Client(), **second).json()["code"] == "too_many_queued"
    GenerationJob.objects.update(status="canceled")  # none waiting: only the rate is left
    assert submit(Client(), **second).status_code == 201  # the account's second this minute
    rated = submit(Client(), **first)
    assert rated.status_code == 429 and rated.json()["code"] == "rate_limited"
