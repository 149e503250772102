"""The ETA's mean run time is read once and kept until the next success: a status poll of a queued job
costs no query for it, and a success changes the next answer at once."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.generation import eta
from apps.generation.models import GenerationJob, JobStatus

pytestmark = pytest.mark.django_db


def succeeded(owner, seconds: float) -> GenerationJob:
    now = timezone.now()
    return GenerationJob.objects.create(
        guest_session=owner,
        idea="x",
        batch_key="k",
        status=JobStatus.SUCCEEDED,
        started_at=now - dt.timedelta(seconds=seconds),
        finished_at=now,
    )


def test_the_mean_is_read_once_and_forgotten_when_a_job_succeeds(guest, django_assert_num_queries):
    cache.clear()
    succeeded(guest, 10)
    with django_assert_num_queries(1):
        assert eta.eta_seconds(0) == 10.0
    with django_assert_num_queries(0):
        assert eta.eta_seconds(2) == 30.0  # three jobs' worth: two ahead and this one
    succeeded(guest, 20)
    with django_assert_num_queries(1):
        assert eta.eta_seconds(0) == 15.0


def test_no_success_yet_means_no_eta_and_that_is_cached_too(django_assert_num_queries):
    cache.clear()
    with django_assert_num_queries(1):
        assert eta.eta_seconds(0) is None
    with django_assert_num_queries(0):
        assert eta.eta_seconds(5) is None
