"""Progress of running jobs: a snapshot on the row (for clients that connect late) and events on the
job's channel-layer group (for clients watching live). Previews go out at most twice a second."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from apps.generation import faults, selectors, status_snapshot
from apps.generation.models import GenerationJob, JobStatus

if TYPE_CHECKING:  # the web imports this module (group names); only workers import the pipeline
    from inference.portrait.pipeline import RequestProgress

logger = logging.getLogger("narcis.generation.progress")

PREVIEW_INTERVAL_S = 0.5
CANCEL_CHECK_INTERVAL_S = 0.5


def group_name(job_id) -> str:
    return f"generation-{job_id}"


_server_loop: asyncio.AbstractEventLoop | None = None


def bind_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Send events through the web server's loop (the embedded worker: see apps.generation.embedded)."""
    global _server_loop
    _server_loop = loop


def publish(job_id, event: dict) -> None:
    """Best effort: a lost event costs a live update (the row keeps the truth), never the job."""
    layer = get_channel_layer()
    if layer is None:
        return
    group, message = group_name(job_id), {"type": "job.event", "event": event}
    loop = _server_loop
    try:
        if loop is not None and loop.is_running():
            # The in-process layer's queues belong to the server's loop and are not thread-safe.
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(timeout=10)
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - Redis down, loop stopped, a full channel
        logger.warning(
            "event not delivered", exc_info=True, extra={"job_id": str(job_id), "kind": event["event"]}
        )


def publish_queue_positions(limit: int = 100) -> None:
    """Tell every waiting job its new place after a claim moved the queue ('queued' events). Best
    effort: a dropped connection costs these updates, never the batch just claimed."""
    try:
        waiting = list(selectors.queued_in_claim_order()[:limit])
    except (OperationalError, InterfaceError):
        logger.warning("queue positions not published", exc_info=True)
        faults.reconnect()
        return
    for position, job_id in enumerate(waiting):
        publish(job_id, {"event": "queued", "position": position})
    status_snapshot.reconcile_queue()


class Reporter:
    def __init__(self):
        self._last_preview: dict[str, float] = {}

    def report(self, job: GenerationJob, update: RequestProgress) -> None:
        p = update.progress
        self._store_snapshot(job, p)
        event = {
            "event": "progress",
            "stage": p.stage,
            "step": p.step,
            "total": p.total,
            "percent": round(p.percent, 1),
        }
        now, key = time.monotonic(), str(job.id)
        if now - self._last_preview.get(key, 0.0) >= PREVIEW_INTERVAL_S:
            self._last_preview[key] = now
            event["preview"] = (
                "data:image/jpeg;base64," + base64.b64encode(update.preview(max_side=256)).decode()
            )
        publish(job.id, event)

    @staticmethod
    def _store_snapshot(job: GenerationJob, p) -> None:
        """Best effort, like the events: a dropped database connection costs this step's snapshot, never
        the painting; the next step reconnects and writes a newer one."""
        try:
            GenerationJob.objects.filter(id=job.id, status=JobStatus.RUNNING).update(
                progress_stage=p.stage,
                progress_step=p.step,
                progress_total=p.total,
                progress_percent=round(p.percent, 1),
                progress_updated_at=timezone.now(),
            )
        except (OperationalError, InterfaceError):
            logger.warning("progress snapshot not stored", exc_info=True, extra={"job_id": str(job.id)})
            faults.reconnect()


_last_cancel_check: dict[str, tuple[float, bool]] = {}


def cancel_requested(job: GenerationJob) -> bool:
    """Whether the owner canceled; read from the row at most twice a second per job."""
    key, now = str(job.id), time.monotonic()
    checked_at, value = _last_cancel_check.get(key, (0.0, False))
    if now - checked_at >= CANCEL_CHECK_INTERVAL_S:
        try:
            value = GenerationJob.objects.values_list("cancel_requested", flat=True).get(id=job.id)
        except (OperationalError, InterfaceError):  # asked again at the next step, reconnected
            faults.reconnect()
            return value
        _last_cancel_check[key] = (now, value)
    return value


def ending_event(job: GenerationJob) -> dict:
    """The event that tells a watcher its job ended (sent live, or by a socket that missed it)."""
    event = {"event": job.status}
    if job.status == JobStatus.SUCCEEDED:
        event |= {
            "result_url": job.result_image.url,
            "metadata": {k: job.metadata.get(k) for k in ("seed", "timings")},
        }
    elif job.status == JobStatus.FAILED:
        event["message"] = job.error_message
    return event


def publish_final(job: GenerationJob) -> None:
    job.refresh_from_db()
    _last_cancel_check.pop(str(job.id), None)
    publish(job.id, ending_event(job))
