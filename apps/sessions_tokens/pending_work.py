"""Which guest sessions still have work in flight, so purging must keep them.

sessions_tokens cannot import the apps above it (generation, ...). Instead each of them registers a
function returning a queryset of busy GuestSession ids from its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from apps.sessions_tokens.models import GuestSession

BusySessionIds = Callable[[], QuerySet]

_checks: list[BusySessionIds] = []


def register(check: BusySessionIds) -> BusySessionIds:
    """Register `check`, a function returning a values_list/values queryset of GuestSession ids."""
    if check not in _checks:
        _checks.append(check)
    return check


def unregister(check: BusySessionIds) -> None:
    if check in _checks:
        _checks.remove(check)


def guest_sessions_with_pending_work() -> QuerySet:
    """GuestSession ids that some app still needs, as a subquery (empty when nothing is registered)."""
    busy = Q(pk__in=[])
    for check in _checks:
        busy |= Q(pk__in=check())
    return GuestSession.objects.filter(busy).values("pk")
