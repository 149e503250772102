import logging
import signal
import threading

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError

from apps.generation import faults, queue_metrics

logger = logging.getLogger("narcis.queue_metrics")


class Command(BaseCommand):
    help = (
        "Publish the queue's depth to CloudWatch (namespace Narcis/Queue) every --interval seconds, for "
        "the GPU workers' autoscaling. One instance per environment is enough."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between publications")
        parser.add_argument("--once", action="store_true", help="publish once and exit (1 if it failed)")

    def handle(self, *args, interval, once, **options):
        cloudwatch = boto3.client("cloudwatch")
        environment = settings.NARCIS_ENVIRONMENT
        if once:
            if not self._round(cloudwatch, environment):
                raise SystemExit(1)
            return
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        logger.info("publishing queue metrics", extra={"environment": environment, "interval_s": interval})
        while not stopping.is_set():
            self._round(cloudwatch, environment)
            stopping.wait(interval)

    def _round(self, cloudwatch, environment: str) -> bool:
        """One measurement and publication; a failure costs this minute's point, never the process (a
        missing point is what the scaling policy and the alarms are built to tolerate)."""
        try:
            depth = queue_metrics.measure()
        except (OperationalError, InterfaceError):
            logger.warning("queue not measured: database unreachable", exc_info=True)
            faults.reconnect()
            return False
        try:
            queue_metrics.publish(cloudwatch, environment, depth)
        except (BotoCoreError, ClientError) as error:
            logger.warning("queue metrics not published", extra={"error": type(error).__name__})
            return False
        logger.info(
            "queue metrics published",
            extra={"environment": environment, "queued": depth.queued, "oldest_age_s": depth.oldest_age_s},
        )
        self.stdout.write(f"{environment}: {depth.queued} queued, oldest {depth.oldest_age_s:.0f} s")
        return True
