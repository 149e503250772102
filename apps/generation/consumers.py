"""Websocket /ws/generations/<id>/: the job's current snapshot at once, then its live events.

A socket that hears nothing for QUIET_RECHECK_S reads its job's row and, when the job has ended, sends
the ending it missed (published while Redis was away, or while this process was resubscribing): every
watcher learns how its job ended. The server pings every 20 s (narcis_site.serve), so a quiet socket also
stays open behind a load balancer's idle timeout.

Only the owner connects: the user from the Django session, or the guest session from its signed
cookie. Anyone else (and a job that does not exist) is accepted and closed at once with 4403, so every
client reads the same close code; no event is ever sent to them. One owner holds at most
MAX_SOCKETS_PER_OWNER sockets on a web process (a page needs one per job it shows); the next is closed
with 4429.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.generation import selectors
from apps.generation.models import ENDED_STATUSES, GenerationJob, JobStatus
from apps.generation.progress import ending_event, group_name
from apps.sessions_tokens import selectors as token_selectors

FORBIDDEN = 4403
TOO_MANY_SOCKETS = 4429
MAX_SOCKETS_PER_OWNER = 20
QUIET_RECHECK_S = 20.0
# Open sockets per owner in this process; touched only from its event loop, so no lock.
_open_sockets: Counter[str] = Counter()


def owned_job(scope, job_id: str) -> GenerationJob | None:
    try:
        job = GenerationJob.objects.filter(pk=uuid.UUID(job_id), erased_at__isnull=True).first()
    except ValueError:
        return None
    if job is None:
        return None
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return job if (user.is_staff or job.user_id == user.pk) else None
    guest = token_selectors.guest_session_from_cookies(scope.get("cookies", {}))
    return job if guest is not None and job.guest_session_id == guest.pk else None


def viewer_key(scope, job: GenerationJob) -> str:
    """Whose socket this is: the logged-in user (staff included), else the job's guest session."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return f"guest-{job.guest_session_id}"


def snapshot(job: GenerationJob) -> dict:
    event = {
        "event": "snapshot",
        "status": job.status,
        "stage": job.progress_stage,
        "step": job.progress_step,
        "total": job.progress_total,
        "percent": job.progress_percent,
    }
    if job.status == JobStatus.QUEUED:
        event["queue_position"] = selectors.queue_position(job)
    if job.status == JobStatus.SUCCEEDED:
        event["result_url"] = job.result_image.url
    if job.status == JobStatus.FAILED:
        event["message"] = job.error_message
    return event


class GenerationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        job = await database_sync_to_async(owned_job)(self.scope, job_id)
        if job is None:
            await self.accept()
            await self.close(code=FORBIDDEN)
            return
        viewer = viewer_key(self.scope, job)
        if _open_sockets[viewer] >= MAX_SOCKETS_PER_OWNER:
            await self.accept()
            await self.close(code=TOO_MANY_SOCKETS)
            return
        _open_sockets[viewer] += 1
        self.viewer = viewer
        self.group = group_name(job.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await database_sync_to_async(snapshot)(job))
        if job.status not in ENDED_STATUSES:
            self.job_id, self.last_heard = job.id, asyncio.get_running_loop().time()
            self.recheck = asyncio.create_task(self.recheck_when_quiet())

    async def disconnect(self, code):
        if hasattr(self, "viewer"):
            _open_sockets[self.viewer] -= 1
            if _open_sockets[self.viewer] <= 0:
                del _open_sockets[self.viewer]
        if hasattr(self, "recheck"):
            self.recheck.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def job_event(self, message):
        self.last_heard = asyncio.get_running_loop().time()
        await self.send_json(message["event"])
        if message["event"]["event"] in ENDED_STATUSES and hasattr(self, "recheck"):
            self.recheck.cancel()

    async def recheck_when_quiet(self):
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self.last_heard + QUIET_RECHECK_S - loop.time()))
            if loop.time() - self.last_heard < QUIET_RECHECK_S:
                continue  # an event arrived while sleeping
            self.last_heard = loop.time()
            job = await database_sync_to_async(ended_job)(self.job_id)
            if job is not None:
                await self.send_json(await database_sync_to_async(ending_event)(job))
                return


def ended_job(job_id) -> GenerationJob | None:
    """The job if it has ended and its owner has not deleted it (a deleted portrait is gone everywhere)."""
    return GenerationJob.objects.filter(id=job_id, status__in=ENDED_STATUSES, erased_at__isnull=True).first()
