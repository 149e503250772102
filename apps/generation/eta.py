"""The queue's ETA: the mean run time of the last 20 successes, times the jobs ahead + 1.

Every status poll of a queued job asks for it, and it changes only when a job succeeds, so the mean is
kept in the cache until the next success (a receiver here forgets it, at once and again at the commit,
so a reader between the two cannot keep the old mean)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.generation.models import GenerationJob, JobStatus

RECENT = 20
_MEAN_KEY = "generation:eta:mean-run-seconds"


def eta_seconds(position: int) -> float | None:
    return eta_from_mean(mean_run_seconds(), position)


def eta_from_mean(mean: float | None, position: int) -> float | None:
    """The jobs ahead and this one, each the mean run time (None: no job succeeded yet)."""
    return None if mean is None else round(mean * (position + 1), 1)


def mean_run_seconds() -> float | None:
    cached = cache.get(_MEAN_KEY)
    if cached is not None:
        return cached[0]
    # Two columns of 20 rows through the job_recent_successes index.
    recent = (
        GenerationJob.objects.filter(status=JobStatus.SUCCEEDED, finished_at__isnull=False)
        .exclude(started_at=None)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:RECENT]
    )
    durations = [(finished - started).total_seconds() for started, finished in recent]
    mean = sum(durations) / len(durations) if durations else None
    cache.set(_MEAN_KEY, (mean,), timeout=600)
    return mean


@receiver(post_save, sender=GenerationJob, dispatch_uid="generation-eta-forget")
def forget_mean_on_success(sender, instance: GenerationJob, **kwargs) -> None:
    if instance.status == JobStatus.SUCCEEDED:
        cache.delete(_MEAN_KEY)
        transaction.on_commit(lambda: cache.delete(_MEAN_KEY))
