"""A guest's job-status poll (GET /api/generations/<id>) answered from the status snapshot
(apps/generation/status_snapshot.py) in one Redis round trip, before Django's middleware, view and ORM.

It answers a guest (guest.py) whose session owns the snapshot's job (a constant-time compare of the owner
keys) while that session lives. Everything else (a miss, a tombstone, another owner, an expired session,
Redis down) goes on to Django unchanged, which answers from the row and writes the snapshot back.
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid

from redis.exceptions import RedisError

from apps.generation import eta, status_snapshot
from apps.generation.models import JobStatus
from apps.generation.selectors import position_from_counts
from narcis_site.fast_paths.guest import Answer, Caller, GuestFastPath

# KEYS: the job's hash, the ETA mean, every queue (ascending priority). ARGV: each queue's priority.
_READ = """
local s = redis.call('HMGET', KEYS[1], 'status', 'owner', 'owner_until', 'body', 'priority', 'score')
if not s[1] then return false end
if s[1] ~= 'queued' then return {s[1], s[2], s[3], s[4]} end
local mine, same, higher = tonumber(s[5]), 0, 0
for i = 3, #KEYS do
  local p = tonumber(ARGV[i - 2])
  if p == mine then same = redis.call('ZCOUNT', KEYS[i], '-inf', '(' .. s[6])
  elseif p > mine then higher = higher + redis.call('ZCARD', KEYS[i]) end
end
return {s[1], s[2], s[3], s[4], s[5], tostring(same), tostring(higher), redis.call('GET', KEYS[2])}
"""


class StatusFastPath(GuestFastPath):
    # A UUID's usual spelling; any other is Django's.
    path = re.compile(r"/api/generations/([0-9a-fA-F-]{36})")

    async def answer(self, caller: Caller, match: re.Match) -> Answer | None:
        if caller.session is None:
            return None  # no guest cookie: no job to show (Django's 404)
        try:
            job_id = uuid.UUID(match.group(1))
        except ValueError:
            return None
        keys = [status_snapshot.job_key(job_id), status_snapshot.ETA_MEAN_KEY, *status_snapshot.QUEUE_KEYS]
        try:
            reply = await self.script(_READ)(keys=keys, args=status_snapshot.PRIORITIES)
        except (RedisError, OSError):
            return None  # Django answers from the row
        body = _owner_body(reply, f"guest:{caller.session}")
        return None if body is None else Answer(body)


def _owner_body(reply, owner: str) -> bytes | None:
    """The JobOut body when the snapshot is there, not a tombstone, this owner's and current."""
    if not reply or reply[0] == status_snapshot.GONE.encode() or not reply[3]:
        return None
    if not hmac.compare_digest(reply[1], owner.encode()):
        return None
    if reply[2] and float(reply[2]) <= time.time():
        return None  # the guest session expired: Django says so
    if reply[0] != JobStatus.QUEUED.value.encode():
        return reply[3]
    if reply[7] is None:
        return None  # the ETA mean is not known yet: Django computes it and stores it
    position = position_from_counts(int(reply[4]), int(reply[5]), int(reply[6]))
    mean = float(reply[7]) if reply[7] else None
    document = json.loads(reply[3])
    document["queue_position"] = position
    document["eta_seconds"] = eta.eta_from_mean(mean, position)
    return json.dumps(document).encode()
