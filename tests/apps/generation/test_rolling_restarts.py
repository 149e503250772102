"""A reduced rolling-restart campaign (tests/rolling_campaign.py) in the suite: 24 portraits from 6 guests
while each of 2 web processes behind HAProxy and each of 2 workers is replaced with SIGTERM, one at a
time, and then the campaign's own PostgreSQL restarts. No client request fails, every portrait succeeds
with one result object and one attempt, nothing is refunded, every watcher sees its ending."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.apps.generation.processes import PROJECT, child_env

# It runs its own PostgreSQL and Redis; it goes with the PostgreSQL pass, as the chaos campaign does.
pytestmark = [pytest.mark.postgres, pytest.mark.balancer]


def test_a_reduced_rolling_restart_loses_no_request_and_charges_no_attempt():
    args = "--jobs 24 --guests 6 --sizes tuned --timeout 400 --database-restarts 1".split()
    run = subprocess.run(
        [sys.executable, "-m", "tests.rolling_campaign", *args],
        env=child_env(DATABASE_URL=None, REDIS_URL=None),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["passed"], report
    assert report["web_restarts"] >= 2 and report["worker_restarts"] >= 2 and report["database_restarts"] == 1
    assert report["failed_requests"] == 0 and report["client_requests"] > 0
    assert report["attempts"] == {"1": 24} and report["watchers_saw_success"] == 24
