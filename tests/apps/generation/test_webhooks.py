"""Webhooks, end to end against a real HTTP receiver on 127.0.0.1: each job event is delivered signed per
the Standard Webhooks spec (checked with the `standardwebhooks` library's own verifier), failures are
retried on the published schedule with the same webhook-id, redirects are not followed, private
addresses are refused unless allowed, and only API-key calls with a signing secret may ask for them."""

from __future__ import annotations

import datetime as dt
import io
import socket

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from PIL import Image
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from apps.generation import portraits, services, webhook_http, webhooks
from apps.generation.models import DeliveryState, GenerationJob, JobStatus, WebhookDelivery
from apps.sessions_tokens import api_keys
from apps.sessions_tokens import services as tokens
from tests.apps.generation.test_api import ASTRONAUT, submit
from tests.apps.generation.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
BOTH = ["generations:read", "generations:write"]


@pytest.fixture
def local_hooks(settings):
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def program(make_user, staff_user, generous_limits):
    """(user, API key headers, signing secret) of a user with tokens."""
    user = make_user()
    tokens.grant(owner=user, amount=5, actor=staff_user, reason="webhook tests")
    key = api_keys.api_key_create(user=user, name="hooks", scopes=BOTH).key
    return user, {"Authorization": f"Bearer {key}"}, webhooks.secret_rotate(user=user)


@pytest.fixture
def receiver():
    made = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for one in made:
        one.close()


def submit_with_hook(headers: dict, url: str):
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    data = {"idea": "corporate confidence", "face": face, "webhook_url": url}
    return Client().post("/api/generations", data, headers=headers)


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_events_arrive_signed_and_verify_with_the_reference_library(local_hooks, program, receiver):
    user, headers, secret = program
    hook = receiver()
    created = submit_with_hook(headers, hook.url)
    assert created.status_code == 201, created.content
    job = GenerationJob.objects.get(pk=created.json()["id"])
    assert job.webhook_url == hook.url
    [claimed] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    services.job_succeed(
        job=claimed, worker_id="w1", image=_png(), prompt="a portrait", negative_prompt="", metadata={}
    )
    assert webhooks.deliver_due() == 2
    assert len(hook.requests) == 2
    verifier = Webhook(secret)
    events = []
    for request_headers, body in hook.requests:
        payload = verifier.verify(body, request_headers)  # raises unless signed with the user's secret
        assert request_headers["webhook-id"].startswith("msg_")
        assert payload["data"]["id"] == str(job.pk)
        events.append((payload["type"], payload["data"]["status"]))
    assert events == [("generation.started", "running"), ("generation.succeeded", "succeeded")]
    assert hook.requests[1][0]["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):  # another secret does not verify
        Webhook(webhooks.secret_rotate(user=user)).verify(hook.requests[0][1], hook.requests[0][0])
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


def test_500_twice_then_200_is_one_success_after_two_retries_on_the_schedule(local_hooks, program, receiver):
    _, headers, _ = program
    hook = receiver([500, 500, 200])
    job_id = submit_with_hook(headers, hook.url).json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "generation.canceled"

    start = timezone.now()
    assert webhooks.deliver_due(now=start) == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.last_status == 500 and delivery.attempts == 1
    assert 4.0 <= (delivery.next_attempt_at - start).total_seconds() <= 6.0  # 5 s ± 20%
    assert webhooks.deliver_due(now=start + dt.timedelta(seconds=3)) == 0  # not due yet
    second = start + dt.timedelta(seconds=6)
    assert webhooks.deliver_due(now=second) == 1
    delivery.refresh_from_db()
    assert 24.0 <= (delivery.next_attempt_at - second).total_seconds() <= 36.0  # 30 s ± 20%
    assert webhooks.deliver_due(now=second + dt.timedelta(seconds=40)) == 1
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.attempts == 3 and delivery.last_status == 200
    assert webhooks.deliver_due(now=later(10**6)) == 0  # nothing more, ever
    assert len(hook.requests) == 3
    assert len({request_headers["webhook-id"] for request_headers, _ in hook.requests}) == 1
    assert len({body for _, body in hook.requests}) == 1  # the same body every time


def test_a_delivery_is_given_up_after_seven_attempts(local_hooks, program, receiver):
    _, headers, _ = program
    hook = receiver([503])
    job_id = submit_with_hook(headers, hook.url).json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    now = timezone.now()
    for _ in range(10):
        webhooks.deliver_due(now=now)
        now += dt.timedelta(hours=8)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed" and delivery.attempts == 7 and len(hook.requests) == 7


def test_a_redirect_is_not_followed(local_hooks, program, receiver):
    _, headers, _ = program
    target = receiver()
    hook = receiver([302], location=target.url)
    job_id = submit_with_hook(headers, hook.url).json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status == 302 and delivery.last_error == "HTTP 302" and delivery.state == "pending"
    assert target.requests == []


def test_private_addresses_are_refused_at_submit_and_at_send(settings, program, receiver):
    _, headers, _ = program
    settings.WEBHOOKS_ALLOW_HTTP = True
    for url in (
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00:ec2::254]/",
    ):
        refused = submit_with_hook(headers, url)
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_webhook_url", url
        assert refused.json()["message"] == webhook_http.NOT_ALLOWED  # no address in it
    # A name is checked when it is sent: localhost resolves to loopback.
    hook = receiver()
    by_name = hook.url.replace("127.0.0.1", "localhost")
    job_id = submit_with_hook(headers, by_name).json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == webhook_http.NO_PUBLIC_ADDRESS and delivery.last_status is None
    assert hook.requests == []


def test_the_page_never_shows_a_resolved_address_or_socket_error_text(settings, program, monkeypatch, caplog):
    user, _, _ = program
    settings.WEBHOOKS_ALLOW_HTTP = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    closed = _canceled_job_with_hook(user, "http://127.0.0.1:9/h")  # nothing listens on port 9
    webhooks.deliver_due()
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    internal = _canceled_job_with_hook(user, "http://db.internal.example/h")
    real_getaddrinfo = socket.getaddrinfo

    def internal_dns(host, *args, **kwargs):  # the name exists, inside the network
        if host == "db.internal.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", 80))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", internal_dns)
    webhooks.deliver_due()
    by_job = {str(d.job_id): d for d in WebhookDelivery.objects.all()}
    assert by_job[closed].last_error == webhook_http.COULD_NOT_CONNECT
    assert by_job[internal].last_error == webhook_http.NO_PUBLIC_ADDRESS
    assert any("Errno" in getattr(r, "detail", "") for r in caplog.records)  # the detail is logged
    assert any(getattr(r, "address", "") == "10.20.30.40" for r in caplog.records)
    browser = Client()
    browser.force_login(user)
    page = browser.get("/portraits/webhooks/").content.decode()
    assert escape(webhook_http.COULD_NOT_CONNECT) in page and escape(webhook_http.NO_PUBLIC_ADDRESS) in page
    # Rows written before the messages were fixed still hold raw text: the page shows the generic one.
    by_job[closed].__class__.objects.filter(pk=by_job[closed].pk).update(
        last_error="ConnectionRefusedError: [Errno 111] Connection refused"
    )
    by_job[internal].__class__.objects.filter(pk=by_job[internal].pk).update(
        last_error="webhook_url resolves to a non-public address (10.20.30.40)."
    )
    for shown in (page, browser.get("/portraits/webhooks/").content.decode()):
        assert "10.20.30.40" not in shown and "Errno" not in shown and "Connection refused" not in shown
        assert "non-public" not in shown


@pytest.mark.parametrize(
    "url,allow_http,code",
    [
        ("http://example.com/hook", False, "invalid_webhook_url"),
        ("ftp://example.com/hook", True, "invalid_webhook_url"),
        ("https://user:pw@example.com/hook", False, "invalid_webhook_url"),
        ("https:///nohost", False, "invalid_webhook_url"),
        ("https://example.com:99999/", False, "invalid_webhook_url"),
        ("https://example.com/" + "a" * 500, False, "invalid_webhook_url"),
    ],
)
def test_malformed_webhook_urls_are_refused_and_nothing_is_spent(settings, program, url, allow_http, code):
    user, headers, _ = program
    settings.WEBHOOKS_ALLOW_HTTP = allow_http
    response = submit_with_hook(headers, url)
    assert response.status_code == 400 and response.json()["code"] == code
    assert not GenerationJob.objects.exists()


def test_webhooks_need_an_api_key_and_a_secret(local_hooks, make_user, staff_user, client):
    user = make_user()
    tokens.grant(owner=user, amount=5, actor=staff_user, reason="t")
    client.force_login(user)
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    page = client.post(
        "/api/generations", {"idea": "calm", "face": face, "webhook_url": "https://example.com/h"}
    )
    assert page.status_code == 400 and page.json()["code"] == "webhook_needs_api_key"
    key = api_keys.api_key_create(user=user, name="k", scopes=BOTH).key
    no_secret = submit_with_hook({"Authorization": f"Bearer {key}"}, "https://example.com/h")
    assert no_secret.status_code == 400 and no_secret.json()["code"] == "webhook_secret_missing"
    assert not GenerationJob.objects.exists()


def test_started_is_sent_once_even_when_a_job_is_claimed_again(local_hooks, program):
    _, headers, _ = program
    job_id = submit_with_hook(headers, "http://127.0.0.1:9/h").json()["id"]
    [job] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    services.job_preempt(job=job, worker_id="w1")
    [job] = services.jobs_claim(worker_id="w2", limit=1, lease_seconds=60)
    services.job_fail(job=job, worker_id="w2", message="No face in the portrait.")
    events = list(
        WebhookDelivery.objects.filter(job_id=job_id).order_by("created_at").values_list("event", flat=True)
    )
    assert events == ["generation.started", "generation.failed"]
    failed = WebhookDelivery.objects.get(event="generation.failed").payload
    assert (
        failed["data"]["status"] == JobStatus.FAILED and failed["data"]["error"] == "No face in the portrait."
    )


def test_jobs_without_a_webhook_make_no_deliveries(program):
    _, headers, _ = program
    submit(Client(), **headers)
    [job] = services.jobs_claim(worker_id="w1", limit=1, lease_seconds=60)
    services.job_fail(job=job, worker_id="w1", message="x")
    assert not WebhookDelivery.objects.exists()


def test_the_webhooks_page_shows_the_secret_once_the_log_and_redelivers(
    local_hooks, program, make_user, receiver
):
    user, headers, _ = program
    hook = receiver([500, 200])
    job_id = submit_with_hook(headers, hook.url).json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    webhooks.deliver_due()
    browser = Client()
    browser.force_login(user)
    rotated = browser.post("/portraits/webhooks/secret/")
    secret = user.webhook_secret.__class__.objects.get(user=user).secret
    assert secret in rotated.content.decode() and rotated["Cache-Control"] == "no-store"
    page = browser.get("/portraits/webhooks/").content.decode()
    assert secret not in page and "generation.canceled" in page and "HTTP 500" in page
    delivery = WebhookDelivery.objects.get()
    stranger = Client()
    stranger.force_login(make_user())
    assert stranger.post(f"/portraits/webhooks/{delivery.pk}/redeliver/").status_code == 404
    assert browser.post(f"/portraits/webhooks/{delivery.pk}/redeliver/").status_code == 302
    webhooks.deliver_due()
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and len(hook.requests) == 2
    Webhook(secret).verify(hook.requests[1][1], hook.requests[1][0])  # signed with the rotated secret
    assert Client().get("/portraits/webhooks/").status_code == 302  # log in first


def test_erasing_a_portrait_deletes_its_deliveries(local_hooks, program):
    _, headers, _ = program
    job_id = submit_with_hook(headers, "http://127.0.0.1:9/h").json()["id"]
    services.job_cancel(job=GenerationJob.objects.get(pk=job_id))
    assert WebhookDelivery.objects.count() == 1
    portraits.job_erase(job=GenerationJob.objects.get(pk=job_id))
    assert not WebhookDelivery.objects.exists()
    assert GenerationJob.objects.get(pk=job_id).webhook_url == ""


def test_check_url_accepts_a_public_https_url():
    assert (
        webhook_http.check_url("https://hooks.example.com/narcis?x=1")
        == "https://hooks.example.com/narcis?x=1"
    )


def _canceled_job_with_hook(user, url: str) -> str:
    job = GenerationJob.objects.create(
        user=user, idea="x", batch_key="k", status=JobStatus.CANCELED, webhook_url=url
    )
    webhooks.enqueue_final(job, JobStatus.CANCELED)
    return str(job.pk)


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())
