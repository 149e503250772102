"""A webhook delivery loop (`manage.py run_webhooks`, a real process) SIGKILLed while an endpoint holds
its request: nothing is lost. Another loop sends every event again, with the same webhook-id and body,
once the dead loop's claim runs out. Real processes on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
from standardwebhooks import Webhook

from apps.generation import services, webhooks
from apps.generation.models import GenerationJob, WebhookDelivery
from apps.sessions_tokens import services as tokens
from tests.apps.generation.processes import PROJECT, child_env, current_database_url, manage
from tests.apps.generation.webhook_receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_loop_loses_nothing_and_repeats_with_the_same_id(make_user, staff_user, face_file):
    user = make_user()
    tokens.grant(owner=user, amount=5, actor=staff_user, reason="webhook chaos")
    secret = webhooks.secret_rotate(user=user)
    release = threading.Event()
    hook = Receiver([200], hold=release)
    try:
        for _ in range(3):
            job = services.job_submit(owner=user, idea="calm", face=face_file(), webhook_url=hook.url)
            services.job_cancel(job=job)
        assert WebhookDelivery.objects.count() == 3
        env = child_env(
            DATABASE_URL=current_database_url(),
            WEBHOOKS_ALLOW_HTTP="true",
            WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
        )
        first = subprocess.Popen(manage("run_webhooks", "--poll", "0.2"), cwd=PROJECT, env=env)
        try:
            wait_until(lambda: len(hook.requests) == 1, timeout=60, what="the first delivery to arrive")
            first.send_signal(signal.SIGKILL)  # mid-request: the endpoint has not answered yet
            first.wait(10)
        finally:
            first.kill()
        release.set()
        assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"pending"}
        second = subprocess.Popen(manage("run_webhooks", "--poll", "0.2"), cwd=PROJECT, env=env)
        try:
            done = WebhookDelivery.objects.filter(state="succeeded")
            wait_until(lambda: done.count() == 3, timeout=webhooks.IN_FLIGHT_S + 45, what="every delivery")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
    finally:
        hook.close()
    received = [headers["webhook-id"] for headers, _ in hook.requests]
    expected = {delivery.webhook_id for delivery in WebhookDelivery.objects.all()}
    assert set(received) == expected  # every event at least once
    assert received.count(received[0]) == 2  # the one in flight when the loop died, sent again
    verifier = Webhook(secret)
    bodies = {}
    for headers, body in hook.requests:
        assert verifier.verify(body, headers)["type"] == "generation.canceled"
        assert bodies.setdefault(headers["webhook-id"], body) == body  # same id, same body
    assert GenerationJob.objects.filter(status="canceled").count() == 3
