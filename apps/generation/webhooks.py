"""Webhooks: a job submitted with a `webhook_url` (API keys only) has its events POSTed there, signed per
the Standard Webhooks spec with its owner's secret (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
HMAC-SHA256 by the `standardwebhooks` library).

An event becomes a WebhookDelivery row in the same transaction as the status change it reports
(`enqueue`, called by services), so none is lost. A delivery loop (`manage.py run_webhooks`; a thread
under `make run`) claims due rows, sends them (webhook_http: SSRF guard, 5 s, no redirects) and records
the outcome. Failures are retried after 5 s, 30 s, 2 min, 10 min, 1 h and 6 h (±20% jitter), then the
delivery is given up. A claim puts the row's next attempt IN_FLIGHT_S ahead first: a loop killed
mid-send leaves it due again, sent again with the same `webhook-id` (at least once; receivers drop
repeats by that id).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import logging
import random
import secrets
import threading

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from apps.generation import selectors, webhook_http
from apps.generation.models import DeliveryState, GenerationJob, WebhookDelivery, WebhookEvent, WebhookSecret

logger = logging.getLogger("narcis.webhooks")

RETRY_AFTER_S = (5, 30, 120, 600, 3600, 21600)  # after failed attempt 1, 2, ...; the 7th failure gives up
MAX_ATTEMPTS = len(RETRY_AFTER_S) + 1
JITTER = 0.2
IN_FLIGHT_S = 3 * webhook_http.TIMEOUT_S  # longer than one send can take
NO_SECRET = "no webhook secret: create one on the account page"
FINAL_EVENTS = {
    "succeeded": WebhookEvent.SUCCEEDED,
    "failed": WebhookEvent.FAILED,
    "canceled": WebhookEvent.CANCELED,
}


def secret_rotate(*, user) -> str:
    """A new signing secret for the user's deliveries (the old one stops signing at once); shown once."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    WebhookSecret.objects.update_or_create(user=user, defaults={"secret": secret})
    return secret


def has_secret(user) -> bool:
    return WebhookSecret.objects.filter(user=user).exists()


def enqueue(job: GenerationJob, event: str) -> None:
    """Records `event` for the job if it has a webhook URL (fixed at submit: no query for jobs without
    one); once per job and event. Call it inside the transaction that changes the job's status: the
    payload is read from the row as that transaction left it."""
    if not job.webhook_url:
        return
    job = GenerationJob.objects.get(pk=job.pk)
    payload = {"type": event, "timestamp": timezone.now(), "data": selectors.job_public(job)}
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))  # fixed now: every attempt sends this
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                job=job, event=event, url=job.webhook_url, payload=payload, next_attempt_at=timezone.now()
            )
        ],
        ignore_conflicts=True,  # a job claimed again after a hand-back has started already
    )


def enqueue_final(job: GenerationJob, status: str) -> None:
    if status in FINAL_EVENTS:
        enqueue(job, FINAL_EVENTS[status])


def claim_due(*, limit: int = 20, now: dt.datetime | None = None) -> list[WebhookDelivery]:
    """Due deliveries, each counted an attempt and pushed IN_FLIGHT_S ahead, for this loop to send."""
    now = now or timezone.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        ids = list(
            due.order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(id__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + dt.timedelta(seconds=IN_FLIGHT_S)
        )
    claimed = WebhookDelivery.objects.filter(id__in=ids).select_related("job__user__webhook_secret")
    return list(claimed.order_by("created_at"))  # a job's events in the order they happened


def body_of(delivery: WebhookDelivery) -> str:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)


def signed_headers(delivery: WebhookDelivery, body: str, secret: str, now: dt.datetime) -> dict[str, str]:
    return {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.webhook_id, now, body),
        "User-Agent": "Narcis-Webhooks/1",
    }


def send(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One attempt: (HTTP status or None, what went wrong or "")."""
    secret = getattr(getattr(delivery.job.user, "webhook_secret", None), "secret", None)
    if secret is None:
        return None, NO_SECRET
    body = body_of(delivery)
    try:
        status = webhook_http.post(
            delivery.url, body.encode(), signed_headers(delivery, body, secret, timezone.now())
        )
    except webhook_http.WebhookUrlError as refused:  # its message is written for the user
        return None, str(refused)
    except (OSError, ValueError, http.client.HTTPException) as error:
        # refused, reset, timed out, TLS, a malformed answer: the details (addresses, errno) are logged only
        detail = f"{type(error).__name__}: {error}"[:300]
        logger.warning("webhook connection failed", extra={"job_id": str(delivery.job_id), "detail": detail})
        return None, webhook_http.COULD_NOT_CONNECT
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def record(
    delivery: WebhookDelivery, status: int | None, error: str, *, now: dt.datetime | None = None
) -> str:
    """Stores an attempt's outcome; the delivery's new state."""
    now = now or timezone.now()
    fields = {"last_status": status, "last_error": error[:300]}
    if not error:
        fields.update(state=DeliveryState.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    elif delivery.attempts >= MAX_ATTEMPTS:
        fields.update(state=DeliveryState.FAILED, next_attempt_at=None)
    else:
        wait = RETRY_AFTER_S[delivery.attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
        fields.update(next_attempt_at=now + dt.timedelta(seconds=wait))
    WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(**fields)
    level = logging.INFO if not error else logging.WARNING
    logger.log(
        level,
        "webhook delivered" if not error else "webhook not delivered",
        extra={
            "job_id": str(delivery.job_id),
            "webhook_event": delivery.event,
            "attempt": delivery.attempts,
            "error": error,
        },
    )
    return fields.get("state", DeliveryState.PENDING)


def redeliver(delivery: WebhookDelivery) -> None:
    """The owner asked to send it again now, whatever its state: same id and body, a fresh schedule."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None
    )


def deliver_due(*, limit: int = 20, now: dt.datetime | None = None) -> int:
    """Sends what is due (at `now`: tests pass a later time instead of waiting); how many were attempted."""
    claimed = claim_due(limit=limit, now=now)
    for delivery in claimed:
        status, error = send(delivery)
        record(delivery, status, error, now=now)
    return len(claimed)


def run_forever(stop: threading.Event, *, poll_s: float = 1.0) -> None:
    logger.info("webhook delivery loop started")
    while not stop.is_set():
        try:
            sent = deliver_due()
        except Exception:  # noqa: BLE001 - a database blip must not end the loop; the next round retries
            logger.exception("webhook round failed")
            sent = 0
        if not sent:
            # Idle (or failed): the connection goes back to the pool until the next round, a broken one
            # is dropped; the loop, embedded in the web process, holds no slot while it waits.
            close_old_connections()
            stop.wait(poll_s)
    close_old_connections()  # the thread ends holding nothing
