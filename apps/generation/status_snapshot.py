"""The job-status snapshot: each job's public state in Redis, so that its owner's poll
(GET /api/generations/<id>, narcis_site/fast_paths/job_status.py) costs one Redis round trip and no ORM.

One hash per job (`narcis:job:<id>`): the JobOut body as JSON (queue position and ETA left out), the
owner key ("guest:<id>" or "user:<id>"), until when a guest owner's session lives, the status, and the
queue inputs (priority, created_at in microseconds). One sorted set per priority holds the queued jobs
by created_at, so a queue position is two counts, the same rule as selectors.queue_position.

Stale-read rules (docs/reliability.md):
- The row is the truth. Every write to a job row (a save, a queryset update or delete: JobQuerySet sends
  `jobs_changed`) rewrites its snapshot when the transaction commits, from the row as committed: a
  snapshot lags its row by at most the event being written.
- A miss (never written, expired, Redis flushed) is served by the ordinary Django view, from the row,
  which then writes the snapshot only if it is still absent: a reader that read an older row never
  overwrites a newer snapshot.
- An ended job's snapshot is never replaced by a live one; an erased or deleted job leaves a tombstone
  ("gone") that nothing replaces and the fast path never serves.
- Snapshots expire SNAPSHOT_TTL_S after their last write: a write lost to a Redis fault mends itself by then.
Without Redis (the embedded default) there are no snapshots and every poll is the Django view's.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder
from redis import Redis
from redis.exceptions import RedisError

from apps.generation import selectors
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.generation.schemas import JobOut
from apps.generation.signals import jobs_changed

logger = logging.getLogger("narcis.generation.snapshot")

SNAPSHOT_TTL_S = 120
RECONCILE_GRACE_S = 5
GONE = "gone"
ETA_MEAN_KEY = "narcis:eta-mean"  # the queue's mean run seconds, "" when no job succeeded yet
PRIORITIES = tuple(sorted(Priority.values))


def job_key(job_id) -> str:
    return f"narcis:job:{job_id}"


def queue_key(priority: int) -> str:
    return f"narcis:queue:{priority}"


QUEUE_KEYS = [queue_key(priority) for priority in PRIORITIES]

# KEYS: the job's hash, the queue of its priority, every queue. ARGV: only_if_absent, ttl, status,
# priority, score, job id, body, owner, owner_until.
_WRITE = """
local current = redis.call('HGET', KEYS[1], 'status')
if current == 'gone' then return 0 end
if ARGV[1] == '1' and current then return 0 end
local ended = {succeeded = true, failed = true, canceled = true}
if current and ended[current] and not ended[ARGV[3]] and ARGV[3] ~= 'gone' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'priority', ARGV[4], 'score', ARGV[5], 'body', ARGV[7],
           'owner', ARGV[8], 'owner_until', ARGV[9])
redis.call('EXPIRE', KEYS[1], ARGV[2])
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[6]) end
if ARGV[3] == 'queued' then redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6]) end
return 1
"""

_client: Redis | None = None
_client_lock = threading.Lock()


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def client() -> Redis:
    """One thread-safe client (its own connection pool) per process."""
    global _client
    with _client_lock:
        if _client is None:
            _client = Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return _client


def owner_key_of(job: GenerationJob) -> str:
    return f"user:{job.user_id}" if job.user_id is not None else f"guest:{job.guest_session_id}"


def render_body(job: GenerationJob) -> str:
    """The JobOut JSON exactly as the API renders it (ninja's schema, then its encoder), without the
    queue position and ETA, which change with every claim and are added at read time."""
    public = selectors.job_public(job, with_queue_position=False)
    return json.dumps(JobOut.model_validate(public).model_dump(), cls=NinjaJSONEncoder)


def _fields(job: GenerationJob | None) -> dict:
    if job is None or job.erased_at is not None:
        return {"status": GONE, "priority": 0, "score": 0, "body": "", "owner": "", "owner_until": ""}
    guest = job.guest_session if job.guest_session_id is not None else None
    return {
        "status": job.status,
        "priority": job.priority,
        "score": _score(job.created_at),
        "body": render_body(job),
        "owner": owner_key_of(job),
        "owner_until": str(guest.expires_at.timestamp()) if guest is not None else "",
    }


def _score(created_at) -> int:
    return int(created_at.timestamp() * 1_000_000)  # microseconds: exact in a sorted set's double


def _write(job_id, fields: dict, *, only_if_absent: bool) -> None:
    priority = int(fields["priority"])
    keys = [job_key(job_id), queue_key(priority), *QUEUE_KEYS]
    args = [
        "1" if only_if_absent else "0",
        SNAPSHOT_TTL_S,
        fields["status"],
        priority,
        fields["score"],
        str(job_id),
        fields["body"],
        fields["owner"],
        fields["owner_until"],
    ]
    client().eval(_WRITE, len(keys), *keys, *args)


def _rows(job_ids: list) -> dict:
    jobs = GenerationJob.objects.filter(id__in=job_ids).select_related("guest_session")
    return {job.id: job for job in jobs.prefetch_related("extra_faces")}


def refresh(job_ids: Iterable) -> None:
    """Rewrite these jobs' snapshots from their rows (a tombstone for a row that is gone). Best effort:
    a Redis or database fault costs freshness until SNAPSHOT_TTL_S, never the transition that called it."""
    ids = [uuid.UUID(str(job_id)) for job_id in job_ids]
    if not ids or not enabled():
        return
    try:
        rows = _rows(ids)
        for job_id in ids:
            _write(job_id, _fields(rows.get(job_id)), only_if_absent=False)
    except (RedisError, DatabaseError):
        logger.warning("job snapshots not written", exc_info=True, extra={"jobs": len(ids)})


def store_if_absent(job: GenerationJob, *, eta_mean: float | None) -> None:
    """After a miss, the Django view's row becomes the snapshot, unless a transition wrote one meanwhile."""
    if not enabled():
        return
    try:
        _write(job.id, _fields(job), only_if_absent=True)
        if job.status == JobStatus.QUEUED:
            client().set(ETA_MEAN_KEY, "" if eta_mean is None else repr(eta_mean), ex=SNAPSHOT_TTL_S, nx=True)
    except RedisError:
        logger.warning("job snapshot not written", exc_info=True, extra={"job_id": str(job.id)})


def forget_eta_mean() -> None:
    """A job succeeded: the queue's mean run time changed (apps.generation.eta)."""
    if enabled():
        try:
            client().delete(ETA_MEAN_KEY)
        except RedisError:
            logger.warning("queue ETA mean not forgotten", exc_info=True)


def reconcile_queue() -> None:
    """Make the queues in Redis hold the queued rows again (a transition's write lost to a Redis fault
    leaves a job in or out of them). Called after each claim (progress.publish_queue_positions). A member
    younger than RECONCILE_GRACE_S stays: its own submit may have committed after this read."""
    if not enabled():
        return
    wanted: dict[int, dict[str, int]] = {priority: {} for priority in PRIORITIES}
    queued = GenerationJob.objects.filter(status=JobStatus.QUEUED).values_list("id", "priority", "created_at")
    for job_id, priority, created_at in queued:
        wanted.setdefault(priority, {})[str(job_id)] = _score(created_at)
    cutoff = _score(timezone.now()) - RECONCILE_GRACE_S * 1_000_000
    try:
        redis = client()
        for priority, members in wanted.items():
            key = queue_key(priority)
            present = {m.decode(): score for m, score in redis.zrange(key, 0, -1, withscores=True)}
            stale = [m for m, score in present.items() if m not in members and score < cutoff]
            missing = {m: score for m, score in members.items() if m not in present}
            if stale:
                redis.zrem(key, *stale)
            if missing:
                redis.zadd(key, missing)
    except RedisError:
        logger.warning("job queue not reconciled", exc_info=True)


def refresh_on_commit(job_ids: Iterable) -> None:
    ids = list(job_ids)
    if ids and enabled():
        transaction.on_commit(lambda: refresh(ids), robust=True)


@receiver(jobs_changed, dispatch_uid="generation-snapshot-jobs-changed")
def _on_jobs_changed(sender, *, job_ids, **kwargs) -> None:
    refresh_on_commit(job_ids)


@receiver(post_save, sender=GenerationJob, dispatch_uid="generation-snapshot-saved")
@receiver(post_delete, sender=GenerationJob, dispatch_uid="generation-snapshot-deleted")
def _on_row_written(sender, instance: GenerationJob, **kwargs) -> None:
    refresh_on_commit([instance.pk])
    if instance.status == JobStatus.SUCCEEDED and enabled():  # the queue's mean run time changed (eta)
        transaction.on_commit(forget_eta_mean, robust=True)
