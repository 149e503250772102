"""A worker process killed with SIGKILL mid-job: its lease runs out, another worker takes the job over
and finishes it, and the visitor's token is spent exactly once. Real processes on PostgreSQL."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time

import pytest
import skimage.data
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.worker import Worker
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens.models import LedgerEntry
from inference.faces import OpenCVFaceAnalyzer
from inference.params import Role
from inference.portrait.pipeline import PortraitPipeline
from tests.apps.generation.processes import PROJECT, SLOW, child_env, current_database_url, manage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEASE_S = 3


def wait_until(predicate, *, timeout: float, what: str, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}) before {what}")
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_workers_job_is_finished_by_another_and_paid_once(guest, settings, tiny_models):
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    job = services.job_submit(
        owner=guest, idea="calm", face=ContentFile(buffer.getvalue()), params=SLOW, role=Role.OPERATOR
    )
    balance_after_submit = token_selectors.balance_of(guest)

    doomed = subprocess.Popen(
        manage("run_worker", "--batch", "1", "--lease", str(LEASE_S)),
        env=child_env(DATABASE_URL=current_database_url(), NARCIS_MEDIA_ROOT=str(settings.MEDIA_ROOT)),
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: GenerationJob.objects.filter(id=job.id, progress_step__gte=2).exists(),
            timeout=120,
            what="the first worker to be painting",
            process=doomed,
        )
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1 and job.progress_step < 40
    wait_until(
        lambda: timezone.now() > job.lease_expires_at, timeout=LEASE_S + 5, what="the lease to run out"
    )

    pipeline = PortraitPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False)
    rescuer = Worker(pipeline, worker_id="rescuer", batch_size=1)
    assert rescuer.run_once() == 1  # reaps the dead lease, claims the job again, paints it

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.worker_id == "rescuer" and job.attempts == 2
    assert job.result_image.storage.exists(job.result_image.name)
    entries = LedgerEntry.objects.filter(reference=f"generation:{job.id}")
    assert [entry.delta for entry in entries] == [-1]  # spent once, never refunded
    assert token_selectors.balance_of(guest) == balance_after_submit
