"""Operators go first, not forever: a visitor's job submitted after a 200-job sweep is claimed within
OPERATOR_JOBS_PER_VISITOR operators' jobs (counted in jobs, not seconds); and an operator runs at most
MAX_LIVE_SESSIONS sessions at once."""

import io

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image

from apps.discord_ops import services
from apps.discord_ops.errors import OpsError
from apps.generation import selectors as generation_selectors
from apps.generation import services as generation
from apps.sessions_tokens import services as tokens
from tests.apps.discord_ops.bot_fixtures import session_on

pytestmark = pytest.mark.django_db


def _visitor_job():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
    return generation.job_submit(
        owner=tokens.guest_session_create(), idea="calm portrait", face=ContentFile(buffer.getvalue())
    )


def test_a_visitors_job_is_not_starved_by_a_200_job_sweep(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    sweep = session_on(555, operator, per_input=20, ideas=["calm", "bold", "warm", "cool", "soft"])
    assert sweep.items.count() == 200
    generation.jobs_claim(worker_id="w1", limit=4, lease_seconds=60)  # the sweep has started
    visitor = _visitor_job()
    assert (
        generation_selectors.queue_position(visitor) == settings.OPERATOR_JOBS_PER_VISITOR
    )  # what it is told
    ahead = 0
    while True:
        claimed = generation.jobs_claim(worker_id="w1", limit=4, lease_seconds=60)
        assert claimed, "the queue ran dry before the visitor's job was claimed"
        if visitor.id in {job.id for job in claimed}:
            break
        ahead += len(claimed)
    assert ahead <= settings.OPERATOR_JOBS_PER_VISITOR
    # ... and the sweep goes on after it.
    assert generation.jobs_claim(worker_id="w1", limit=4, lease_seconds=60)[0].priority > visitor.priority


def test_an_operator_runs_at_most_max_live_sessions_at_once(operator, faces_dir):
    services.folder_import(name="team", directory=faces_dir)
    sessions = [session_on(555, operator) for _ in range(settings.MAX_LIVE_SESSIONS)]
    with pytest.raises(OpsError, match=f"You have {settings.MAX_LIVE_SESSIONS} sessions still running"):
        session_on(555, operator)
    services.session_cancel(session=sessions[0])
    assert session_on(555, operator).items.count() == 2  # room again


def test_the_cap_is_checked_before_the_budget_top_up(operator, faces_dir):
    from apps.sessions_tokens.selectors import balance_of

    services.folder_import(name="team", directory=faces_dir)
    for _ in range(settings.MAX_LIVE_SESSIONS):
        session_on(555, operator)
    balance = balance_of(operator)
    with pytest.raises(OpsError, match="sessions still running"):
        session_on(555, operator, per_input=20)  # 40 jobs: far more than the balance left
    assert balance_of(operator) == balance  # refused before anything was granted


def test_the_cap_is_a_setting(operator, faces_dir, settings):
    settings.MAX_LIVE_SESSIONS = 1  # MAX_LIVE_SESSIONS=1 in the environment
    services.folder_import(name="team", directory=faces_dir)
    session_on(555, operator)
    with pytest.raises(OpsError, match=r"You have 1 sessions still running \(at most 1\)"):
        session_on(555, operator)
