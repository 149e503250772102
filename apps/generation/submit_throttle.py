"""Submit attempts per minute, per client address and per visitor, counted before any work is done.

Every attempt counts, refused ones too: a submit that would be refused for its balance or its photo
still made the server read it, and a client that retries at once must not get a free pass. The
accepted-jobs limits (GENERATIONS_PER_MINUTE, GENERATIONS_MAX_QUEUED) are decided later, with the spend.
A fixed window of one minute in the shared cache, so every web process counts together.
"""

from __future__ import annotations

import time

from django.conf import settings

from apps.generation import selectors
from apps.generation.errors import Refused
from apps.sessions_tokens.allowances import address_digest, count_in_cache

WINDOW_S = 60


def count_submit(request) -> None:
    """Count this attempt; Refused (429, with the seconds to wait) past either limit. Staff are held to
    neither, as to none of the visitors' limits; nor is an API key, which every request of counts against
    its own API_KEY_REQUESTS_PER_MINUTE (apps.sessions_tokens.api_keys), so a program can queue its batch."""
    if request.user.is_authenticated and request.user.is_staff:
        return
    if getattr(request, "api_key", None) is not None:
        return
    window, elapsed = divmod(int(time.time()), WINDOW_S)
    retry_after = WINDOW_S - elapsed
    counters = [(f"submits:ip-{address_digest(request)}:{window}", settings.SUBMITS_PER_MINUTE_PER_ADDRESS)]
    visitor = selectors.viewer_key(request)  # the account or the cookie's guest session, never created
    if visitor is not None:
        counters.append((f"submits:{visitor}:{window}", settings.SUBMITS_PER_MINUTE_PER_VISITOR))
    for key, limit in counters:
        if count_in_cache(key, timeout=2 * WINDOW_S) > limit:
            message = f"Too many attempts in a minute. Please wait {retry_after} seconds and try again."
            raise Refused(429, "submit_throttled", message, retry_after=retry_after)
