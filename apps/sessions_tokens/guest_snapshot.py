"""The guest snapshot: what GET /api/me answers a guest, kept in Redis so that the page's account strip
costs one Redis round trip and no ORM (narcis_site/fast_paths/me.py reads it).

One hash per guest session (`narcis:guest:<id>`): the MeOut body as the API renders it, the body's
FORMAT (MeOut's schema, so a process of another release never serves it), until when the session lives,
and a version: the id of the wallet's latest ledger row. Every balance change is one
ledger row written under the wallet's row lock (services._apply), so a wallet's ledger ids grow in the
order its changes commit.

Stale-read rules (docs/reliability.md):
- The rows are the truth. Each ledger row of a guest wallet rewrites the snapshot once its transaction
  commits, from the rows as committed; a miss is answered by Django's view, which writes it back.
- Every write carries its version, and Redis refuses one older than the version it holds: a reader that
  read the rows before a change can never put the old balance back after it.
- A deleted session (erased, purged, cascaded) leaves a tombstone ("gone") that nothing replaces and the
  fast path never serves: written before the rows go, and again at the commit.
- Snapshots expire SNAPSHOT_TTL_S after their last write: a write lost to a Redis fault mends itself by
  then. Without Redis (the embedded default) there are no snapshots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Max
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from ninja.responses import NinjaJSONEncoder
from redis import Redis
from redis.exceptions import RedisError

from apps.sessions_tokens.models import GuestSession, LedgerEntry, Wallet
from apps.sessions_tokens.schemas import MeOut
from apps.sessions_tokens.selectors import AccountSummary

logger = logging.getLogger("narcis.tokens.snapshot")

SNAPSHOT_TTL_S = 300
GONE = "gone"
FORMAT = hashlib.sha256(json.dumps(MeOut.model_json_schema(), sort_keys=True).encode()).hexdigest()[:12]

# KEYS: the session's hash. ARGV: version (or "gone"), body, until, ttl, format.
_WRITE = """
local current = redis.call('HGET', KEYS[1], 'version')
if current == 'gone' then return 0 end
if ARGV[1] ~= 'gone' and current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'body', ARGV[2], 'until', ARGV[3], 'format', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[4])
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


def session_key(session_id) -> str:
    return f"narcis:guest:{session_id}"


def render_body(summary: AccountSummary) -> str:
    """MeOut's JSON exactly as the API renders it: ninja's schema without the empty fields, its encoder."""
    document = MeOut.model_validate(summary).model_dump(exclude_none=True)
    return json.dumps(document, cls=NinjaJSONEncoder)


def _fields(session_id) -> tuple[str, str, str]:
    """(version, body, until) from the rows as this transaction sees them, in one query; a tombstone
    when the session is gone."""
    row = (
        Wallet.objects.filter(guest_session_id=session_id)
        .annotate(version=Max("ledger__id"))
        .values_list("balance", "version", "guest_session__expires_at")
        .first()
    )
    if row is None:
        return GONE, "", ""
    balance, version, expires_at = row
    summary = AccountSummary(authenticated=False, balance=balance, guest_expires_at=expires_at)
    return str(version or 0), render_body(summary), str(expires_at.timestamp())


def write(session_id, version: str, body: str, until: str) -> None:
    client().eval(_WRITE, 1, session_key(session_id), version, body, until, SNAPSHOT_TTL_S, FORMAT)


def refresh(session_id) -> None:
    """Write this session's snapshot from its rows. Best effort: a Redis or database fault costs freshness
    until SNAPSHOT_TTL_S, never the request or the balance change that called it."""
    if not enabled():
        return
    try:
        write(session_id, *_fields(session_id))
    except (RedisError, DatabaseError):
        logger.warning("guest snapshot not written", exc_info=True, extra={"session": str(session_id)[:8]})


def refresh_on_commit(session_id) -> None:
    if enabled():
        transaction.on_commit(lambda: refresh(session_id), robust=True)


@receiver(post_save, sender=LedgerEntry, dispatch_uid="sessions-tokens-snapshot-ledger")
def _on_balance_changed(sender, instance: LedgerEntry, created: bool, **kwargs) -> None:
    guest_session_id = instance.wallet.guest_session_id  # the wallet _apply holds: no query
    if created and guest_session_id is not None:
        refresh_on_commit(guest_session_id)


@receiver(pre_delete, sender=GuestSession, dispatch_uid="sessions-tokens-snapshot-session-deleting")
def _on_session_deleting(sender, instance: GuestSession, **kwargs) -> None:
    """The tombstone before the rows go: a fault at the commit's write still leaves the fast path
    declining. A deletion rolled back leaves it too, which only sends that guest to Django until the TTL."""
    if enabled():
        try:
            write(instance.pk, GONE, "", "")
        except RedisError:
            fields = {"session": str(instance.pk)[:8]}
            logger.warning("guest tombstone not written", exc_info=True, extra=fields)


@receiver(post_delete, sender=GuestSession, dispatch_uid="sessions-tokens-snapshot-session-deleted")
def _on_session_deleted(sender, instance: GuestSession, **kwargs) -> None:
    refresh_on_commit(instance.pk)  # the rows are gone by then: a tombstone


@receiver(post_save, sender=GuestSession, dispatch_uid="sessions-tokens-snapshot-session-saved")
def _on_session_saved(sender, instance: GuestSession, created: bool, **kwargs) -> None:
    if not created:  # its expiry changed (the admin); a new session's first snapshot comes with its grant
        refresh_on_commit(instance.pk)
