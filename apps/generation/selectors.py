"""Reads of the job queue."""

from django.db.models import QuerySet

from apps.generation.models import LIVE_STATUSES, GenerationJob


def guest_sessions_with_live_jobs() -> QuerySet:
    """Guest sessions whose jobs are queued or running: purging them would orphan paid work."""
    return GenerationJob.objects.filter(status__in=LIVE_STATUSES, guest_session__isnull=False).values(
        "guest_session_id"
    )
