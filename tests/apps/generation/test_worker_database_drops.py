"""A real run_worker process on PostgreSQL while the test terminates every database connection of the
worker, again and again (a failover, a pooler restart): every job still succeeds, none is refunded."""

from __future__ import annotations

import io
import subprocess
import time

import pytest
import skimage.data
from django.core.files.base import ContentFile
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import LedgerEntry, User
from inference.params import Role
from tests.apps.generation.processes import PROJECT, child_env, current_database_url, manage
from tests.chaos_campaign import terminate_connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOB = {"width": 128, "height": 128, "steps": 40, "start_merge_step": 4, "detailing_resolution": 128}


def test_terminated_connections_mid_batch_cost_no_portrait(settings):
    ops = User.objects.create_superuser(email="ops@example.com", password="a-long-pass-phrase-42")
    tokens.grant(owner=ops, amount=6, actor=ops, reason="database drop test")
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    jobs = [
        services.job_submit(
            owner=ops, idea="calm", face=ContentFile(buffer.getvalue()), params=JOB, role=Role.OPERATOR
        )
        for _ in range(6)
    ]
    worker = subprocess.Popen(
        manage("run_worker", "--batch", "3", "--lease", "10"),
        env=child_env(DATABASE_URL=current_database_url(), NARCIS_MEDIA_ROOT=str(settings.MEDIA_ROOT)),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    terminations, deadline = 0, time.monotonic() + 240
    try:
        live = GenerationJob.objects.exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
        while live.exists():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker stopped or stalled"
            painting = GenerationJob.objects.filter(status=JobStatus.RUNNING, progress_step__gte=3)
            if terminations < 6 and painting.exists():
                terminations += terminate_connections() > 0
                time.sleep(0.5)
            time.sleep(0.1)
    finally:
        worker.terminate()
        _, log = worker.communicate(timeout=60)
    assert terminations >= 3, f"only {terminations} terminations landed mid-batch"
    finished = GenerationJob.objects.filter(id__in=[j.id for j in jobs])
    assert [job.status for job in finished] == [JobStatus.SUCCEEDED] * 6, log[-3000:]
    assert LedgerEntry.objects.filter(reason="refund").count() == 0
    assert all(job.attempts >= 1 and job.result_image for job in finished)
    assert "terminating connection" in log or "server closed the connection" in log  # it really hit
