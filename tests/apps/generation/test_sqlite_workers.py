"""The embedded default's "safe equivalent" of SKIP LOCKED: two worker processes on one SQLite file
(IMMEDIATE transactions take the write lock first), twenty jobs, each painted exactly once."""

from __future__ import annotations

import sqlite3
import subprocess
import time

import pytest

from tests.apps.generation.processes import PROJECT, embedded_default, manage

pytestmark = pytest.mark.embedded_default  # its own SQLite file: the first pass runs it

SETUP = """
import io, skimage.data
from PIL import Image
from django.core.files.base import ContentFile
from apps.generation import services
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import User
from inference.params import Role
ops = User.objects.create_superuser(email="ops@example.com", password="a-long-pass-phrase-42")
tokens.grant(owner=ops, amount=20, actor=ops, reason="load test")
buffer = io.BytesIO()
Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
params = {"width": 128, "height": 128, "steps": 4, "start_merge_step": 1, "detailing_resolution": 128}
for _ in range(20):
    face = ContentFile(buffer.getvalue())
    services.job_submit(owner=ops, idea="calm", face=face, params=params, role=Role.OPERATOR)
"""


def test_two_worker_processes_on_sqlite_paint_twenty_jobs_each_exactly_once(tmp_path):
    env = embedded_default(tmp_path)
    subprocess.run(manage("shell", "-c", SETUP), env=env, cwd=PROJECT, check=True, capture_output=True)
    workers = [
        subprocess.Popen(
            manage("run_worker", "--batch", "3", "--lease", "30"),
            env=env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    query = sqlite3.connect(tmp_path / "narcis.sqlite3", timeout=20)
    try:
        deadline = time.monotonic() + 240
        while query.execute(
            "SELECT count(*) FROM generation_generationjob WHERE status != 'succeeded'"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the workers did not finish the queue"
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.5)
        jobs = query.execute("SELECT id, attempts, worker_id FROM generation_generationjob").fetchall()
        ledger = query.execute(
            "SELECT reason, count(*) FROM sessions_tokens_ledgerentry "
            "WHERE reference LIKE 'generation:%' GROUP BY reason"
        ).fetchall()
    finally:
        query.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    assert len(jobs) == 20 and {attempts for _, attempts, _ in jobs} == {1}  # claimed once each
    assert len({worker_id for _, _, worker_id in jobs}) == 2  # both workers took part
    assert dict(ledger) == {"spend": 20}  # no refunds: nothing failed, nothing was taken twice
