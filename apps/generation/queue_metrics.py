"""The queue's depth as CloudWatch metrics, for the worker service's autoscaling (backlog per task) and
the queue alarms (deploy/terraform). `manage.py publish_queue_metrics` calls `publish` every minute.

Namespace `Narcis/Queue`, one dimension `Environment` (NARCIS_ENVIRONMENT):
- `QueuedJobs` (Count): jobs waiting for a worker; divided by the running worker tasks it is the
  autoscaling target's backlog per task.
- `OldestQueuedAge` (Seconds): how long the job at the head has waited; it grows when no worker claims.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import timezone

from apps.generation.models import GenerationJob, JobStatus

NAMESPACE = "Narcis/Queue"


@dataclasses.dataclass(frozen=True)
class QueueDepth:
    queued: int
    oldest_age_s: float


def measure(now: dt.datetime | None = None) -> QueueDepth:
    now = now or timezone.now()
    queued = GenerationJob.objects.filter(status=JobStatus.QUEUED)
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return QueueDepth(queued=queued.count(), oldest_age_s=round(age, 1))


def publish(cloudwatch, environment: str, depth: QueueDepth) -> None:
    """One PutMetricData call with both figures (`cloudwatch`: a boto3 CloudWatch client)."""
    dimensions = [{"Name": "Environment", "Value": environment}]
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": "QueuedJobs", "Dimensions": dimensions, "Value": depth.queued, "Unit": "Count"},
            {
                "MetricName": "OldestQueuedAge",
                "Dimensions": dimensions,
                "Value": depth.oldest_age_s,
                "Unit": "Seconds",
            },
        ],
    )
