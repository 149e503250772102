"""Real threads, each its own PostgreSQL connection, claiming from one queue with SKIP LOCKED."""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import User
from inference.params import Role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_as_two_workers(target, *, timeout: float) -> None:
    """target("w0") and target("w1") in two threads at once; back here when both are done."""
    threads = [threading.Thread(target=target, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    close_old_connections()


def test_two_workers_twenty_jobs_each_claimed_exactly_once(face_file):
    staff = User.objects.create_user(
        email="ops@example.com", password="a-long-pass-phrase-42", is_staff=True, is_superuser=True
    )
    tokens.grant(owner=staff, amount=20, actor=staff, reason="load test")
    jobs = [
        services.job_submit(owner=staff, idea="calm", face=face_file(), role=Role.OPERATOR) for _ in range(20)
    ]
    claimed: Counter = Counter()
    lock, start = threading.Lock(), threading.Barrier(2)

    def worker(name: str):
        try:
            start.wait()
            while batch := services.jobs_claim(worker_id=name, limit=3, lease_seconds=60):
                with lock:
                    claimed.update(str(job.id) for job in batch)
        finally:
            connection.close()

    run_as_two_workers(worker, timeout=60)
    assert set(claimed) == {str(job.id) for job in jobs}
    assert set(claimed.values()) == {1}  # nobody claimed a job twice
    assert GenerationJob.objects.filter(status=JobStatus.RUNNING, attempts=1).count() == 20
    assert set(GenerationJob.objects.values_list("worker_id", flat=True)) <= {"w0", "w1"}


def test_two_worker_threads_paint_twenty_jobs_each_exactly_once(tiny_models):
    """The whole worker loop (claim, paint, store, finish) in two threads: no job painted twice."""
    import io

    import skimage.data
    from django.core.files.base import ContentFile
    from PIL import Image

    from apps.generation.worker import Worker
    from inference.faces import OpenCVFaceAnalyzer
    from inference.portrait.pipeline import PortraitPipeline

    staff = User.objects.create_user(
        email="ops@example.com", password="a-long-pass-phrase-42", is_staff=True, is_superuser=True
    )
    tokens.grant(owner=staff, amount=20, actor=staff, reason="load test")
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
    jobs = [
        services.job_submit(owner=staff, idea="calm", face=ContentFile(buffer.getvalue()), role=Role.OPERATOR)
        for _ in range(20)
    ]
    painted: Counter = Counter()
    lock = threading.Lock()

    class CountingPipeline(PortraitPipeline):
        def run(self, requests, **kwargs):
            with lock:
                painted.update(request.request_id for request in requests)
            return super().run(requests, **kwargs)

    start = threading.Barrier(2)

    def work(name: str):
        worker = Worker(
            CountingPipeline(tiny_models, OpenCVFaceAnalyzer(), require_face=False),
            worker_id=name,
            batch_size=3,
        )
        try:
            start.wait()
            while worker.run_once():
                pass
        finally:
            connection.close()

    run_as_two_workers(work, timeout=120)
    assert set(painted) == {str(job.id) for job in jobs} and set(painted.values()) == {1}
    failures = set(
        GenerationJob.objects.exclude(status=JobStatus.SUCCEEDED).values_list("error_detail", flat=True)
    )
    assert not failures
    assert GenerationJob.objects.filter(status=JobStatus.SUCCEEDED, attempts=1).count() == 20
    assert tokens_spent(staff) == 20


def tokens_spent(owner) -> int:
    from apps.sessions_tokens.models import LedgerEntry

    return -sum(
        LedgerEntry.objects.filter(reason="spend", wallet__user=owner).values_list("delta", flat=True)
    )


def test_a_visitors_job_another_claim_has_locked_still_holds_operators_to_their_share(face_file, guest):
    """A concurrent claim holds the waiting visitor's row (here a second connection holds it FOR UPDATE):
    this claim must still see that a visitor is waiting and take no more operators' jobs than the share
    leaves. (When the claim probed the visitor with SKIP LOCKED, it saw none and took a full batch.)"""
    import psycopg
    from django.conf import settings

    staff = User.objects.create_user(
        email="ops@example.com", password="a-long-pass-phrase-42", is_staff=True, is_superuser=True
    )
    tokens.grant(owner=staff, amount=12, actor=staff, reason="sweep")
    visitor = services.job_submit(owner=guest, idea="calm", face=face_file())
    for _ in range(12):
        services.job_submit(owner=staff, idea="calm", face=face_file(), role=Role.OPERATOR)
    db = connection.settings_dict
    holder = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    )
    try:
        holder.execute("SELECT id FROM generation_generationjob WHERE id = %s FOR UPDATE", [visitor.id])
        claimed = services.jobs_claim(worker_id="w0", limit=8, lease_seconds=60)
    finally:
        holder.close()
    assert len(claimed) == settings.OPERATOR_JOBS_PER_VISITOR
    assert all(job.priority > visitor.priority for job in claimed)
