"""Real threads, each its own PostgreSQL connection, claiming from one queue with SKIP LOCKED."""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_twenty_jobs_each_claimed_exactly_once(face_file):
    staff = User.objects.create_user(
        email="ops@example.com", password="a-long-pass-phrase-42", is_staff=True, is_superuser=True
    )
    tokens.grant(owner=staff, amount=20, actor=staff, reason="load test")
    jobs = [
        services.job_submit(owner=staff, idea="calm", face=face_file(), params={}, batch_key="k")
        for _ in range(20)
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

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    close_old_connections()
    assert set(claimed) == {str(job.id) for job in jobs}
    assert set(claimed.values()) == {1}  # nobody claimed a job twice
    assert GenerationJob.objects.filter(status=JobStatus.RUNNING, attempts=1).count() == 20
    assert set(GenerationJob.objects.values_list("worker_id", flat=True)) <= {"w0", "w1"}
