"""A reduced chaos campaign (tests/chaos_campaign.py) in the suite: 20 portraits from 4 guests on two
worker processes, one SIGKILLed and restarted every 8 s or every 4 portraits ended (so a fast machine
sees kills too), Redis killed and restarted once, every database connection terminated once, the web
server SIGKILLed and restarted once. Every portrait succeeds with one result object, nothing is
refunded, every balance is exact, every watching websocket sees its ending."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.apps.generation.processes import PROJECT, child_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def throwaway_database():
    """A database of the campaign's own (it migrates and fills it), dropped afterwards."""
    import uuid

    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"narcis_chaos_{uuid.uuid4().hex[:8]}"
    admin = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    yield f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_reduced_chaos_campaign_paints_every_portrait(throwaway_database, tmp_path):
    # A kill every 8 s: at 5 s a 2-core CI machine sometimes kills a worker again before it has loaded
    # its models and painted a step, and the test then measures the machine, not the guarantees.
    args = "--jobs 20 --guests 4 --workers 2 --kill-every 8 --timeout 400 --sizes tuned".split()
    run = subprocess.run(
        [sys.executable, "-m", "tests.chaos_campaign", *args, "--media", str(tmp_path / "media")],
        env=child_env(DATABASE_URL=throwaway_database),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["passed"], report
    assert report["worker_kills"] >= 2 and report["redis_restarted"] and report["connections_terminated"] >= 1
    assert report["web_kills"] == 1 and report["watchers_saw_success"] == report["watched"] == 20
