"""How many new guest sessions one network address gets free tokens for, per day.

Without it, clearing cookies would mint a fresh allowance each time. The count lives in the cache under
a hash of the address (never the address itself) and expires after a day. The address is REMOTE_ADDR,
or the X-Forwarded-For entry our own proxies added (TRUSTED_PROXIES), never one the client wrote.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

DAY = 24 * 3600


def client_address(request) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if settings.TRUSTED_PROXIES and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        return entries[-min(settings.TRUSTED_PROXIES, len(entries))]
    return request.META.get("REMOTE_ADDR", "")


def address_digest(request) -> str:
    """The client address as a cache key: keyed with SECRET_KEY, so the cache never holds addresses."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{client_address(request)}".encode()).hexdigest()[:32]


def count_in_cache(key: str, *, timeout: int) -> int:
    """Add one to the counter at `key` (created with `timeout`) and return it: atomic on Redis."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=timeout)
        return 1


def take_guest_allowance(request) -> bool:
    """True while this address is within today's GUEST_ALLOWANCES_PER_ADDRESS; counts this one."""
    count = count_in_cache(f"guest-allowances:{address_digest(request)}", timeout=DAY)
    return count <= settings.GUEST_ALLOWANCES_PER_ADDRESS
