"""`manage.py publish_queue_metrics` against a real CloudWatch API (moto's server over HTTP): the points
the worker autoscaling divides by the running tasks, read back through boto3 as CloudWatch serves them."""

from __future__ import annotations

import datetime as dt
import io
import urllib.request

import boto3
import pytest
from django.core.management import call_command
from django.utils import timezone
from moto.server import ThreadedMotoServer

from apps.generation.models import GenerationJob, JobStatus
from tests.apps.generation.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def cloudwatch(monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    # moto's backends live in this process, not in the server: start every test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"))
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    yield boto3.client("cloudwatch")
    server.stop()


def job(guest, status=JobStatus.QUEUED) -> GenerationJob:
    return GenerationJob.objects.create(guest_session=guest, idea="x", batch_key="k", status=status)


def points(client, name: str) -> list[float]:
    now = dt.datetime.now(dt.UTC)
    answer = client.get_metric_statistics(
        Namespace="Narcis/Queue",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": "prod"}],
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in answer["Datapoints"]]


def test_publishes_the_queued_count_and_the_oldest_wait(cloudwatch, settings, guest):
    settings.NARCIS_ENVIRONMENT = "prod"
    queued = [job(guest) for _ in range(3)]
    job(guest, JobStatus.RUNNING)  # being painted: not backlog
    GenerationJob.objects.filter(id=queued[0].id).update(created_at=timezone.now() - dt.timedelta(seconds=90))
    out = io.StringIO()
    call_command("publish_queue_metrics", "--once", stdout=out)
    assert "prod: 3 queued" in out.getvalue()
    assert points(cloudwatch, "QueuedJobs") == [3.0]
    [age] = points(cloudwatch, "OldestQueuedAge")
    assert 90 <= age < 120
    metric = cloudwatch.list_metrics(Namespace="Narcis/Queue", MetricName="QueuedJobs")["Metrics"][0]
    assert metric["Dimensions"] == [{"Name": "Environment", "Value": "prod"}]


def test_an_empty_queue_is_a_zero_not_a_gap(cloudwatch, settings):
    settings.NARCIS_ENVIRONMENT = "prod"
    call_command("publish_queue_metrics", "--once", stdout=io.StringIO())
    assert points(cloudwatch, "QueuedJobs") == [0.0] and points(cloudwatch, "OldestQueuedAge") == [0.0]


def test_an_unreachable_cloudwatch_fails_the_round_without_a_traceback(monkeypatch, caplog):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(SystemExit) as exit_:
        call_command("publish_queue_metrics", "--once", stdout=io.StringIO())
    assert exit_.value.code == 1
    assert "queue metrics not published" in caplog.text and "testing" not in caplog.text
