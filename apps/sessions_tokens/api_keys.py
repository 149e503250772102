"""API keys: issued to a signed-up user, shown once, kept as a SHA-256, checked on every /api/ request
that carries `Authorization: Bearer <key>` (ApiKeyMiddleware). A key reads the database each time, so a
revoked or expired key stops working at once on every web process.

A key is `nrc_` + a 12-character prefix + `_` + 43 characters of secret; the prefix finds the row, the
hash of the whole key is compared in constant time. Scopes: GET needs `generations:read`, every other
method `generations:write`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.sessions_tokens.models import ApiKey, ApiKeyScope, User

KEY_START = "nrc_"
PREFIX_CHARS = 12
MAX_KEYS_PER_USER = 20
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_EVERY = dt.timedelta(minutes=1)  # at most one write per key per minute on the hot path


@dataclasses.dataclass(frozen=True)
class IssuedKey:
    key: str  # the only time the whole key exists outside the caller's hands
    record: ApiKey


class ApiKeyRefused(Exception):
    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None):
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after
        super().__init__(message)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *, user: User, name: str, scopes: list[str], expires_at: dt.datetime | None = None
) -> IssuedKey:
    name = name.strip()
    if not name or len(name) > 60:
        raise ValueError("Name the key in 1 to 60 characters.")
    if not scopes or not set(scopes) <= set(ApiKeyScope.values):
        raise ValueError(f"Choose scopes among {', '.join(ApiKeyScope.values)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_KEYS_PER_USER:
        raise ValueError(f"You have {MAX_KEYS_PER_USER} keys already: revoke one first.")
    prefix = KEY_START + secrets.token_hex(PREFIX_CHARS // 2)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=_digest(key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return IssuedKey(key=key, record=record)


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def keys_of(user: User) -> list[ApiKey]:
    return list(ApiKey.objects.filter(user=user))


def authenticate(header: str, method: str) -> ApiKey:
    """The key of an `Authorization: Bearer ...` header, allowed to make a `method` request now; else
    ApiKeyRefused (401 for the key itself, 403 for a missing scope, 429 over the rate). Never echoes it."""
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(KEY_START):
        raise ApiKeyRefused(401, "invalid_api_key", "The Authorization header must be 'Bearer <API key>'.")
    prefix = key[: len(KEY_START) + PREFIX_CHARS]
    record = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    # Compared even when no row matched, so an unknown prefix costs the same as a wrong secret.
    matches = hmac.compare_digest(_digest(key), record.key_hash if record else "0" * 64)
    if record is None or not matches or not record.user.is_active:
        raise ApiKeyRefused(401, "invalid_api_key", "This API key is not valid.")
    now = timezone.now()
    state = record.state(now)
    if state != "active":
        raise ApiKeyRefused(401, f"api_key_{state}", f"This API key was {state}; create a new one.")
    needed = ApiKeyScope.READ if method.upper() in READ_METHODS else ApiKeyScope.WRITE
    if needed not in record.scopes:
        raise ApiKeyRefused(403, "insufficient_scope", f"This API key lacks the {needed.value} scope.")
    _count_request(record)
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=record.pk).update(last_used_at=now)
    return record


def _count_request(record: ApiKey) -> None:
    """A fixed one-minute window per key in the shared cache (Redis in production: every web process)."""
    minute = int(time.time() // 60)
    counter = f"api-key-requests:{record.pk}:{minute}"
    cache.add(counter, 0, timeout=120)
    try:
        count = cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, timeout=120)
        count = 1
    if count > settings.API_KEY_REQUESTS_PER_MINUTE:
        wait = 60 - int(time.time()) % 60
        raise ApiKeyRefused(429, "rate_limited", "Too many requests with this API key.", retry_after=wait)
