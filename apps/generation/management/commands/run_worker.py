import argparse
import signal

from django.core.management.base import BaseCommand, CommandError

from apps.generation.worker import worker_from_settings
from apps.generation.worker_readiness import ready_after_warm_up
from inference.models.threads import ProcessKind, size_torch_threads


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class Command(BaseCommand):
    help = "Run a GPU worker: claim queued generations, paint them, store the results."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch",
            type=positive_int,
            default=None,
            help="most jobs per GPU batch (default: NARCIS_WORKER_BATCH, else what the GPU's memory holds)",
        )
        parser.add_argument(
            "--lease", type=positive_int, default=60, help="lease length in seconds, renewed while running"
        )

    def handle(self, *args, batch, lease, **options):
        try:
            threads = size_torch_threads(ProcessKind.WORKER)  # its share of the cores (threads.py)
            worker = worker_from_settings(batch_size=batch, lease_seconds=lease)
        # NARCIS_DTYPE or NARCIS_FAST_PATH that this machine cannot honour, a thread count that is no number
        except ValueError as error:
            raise CommandError(f"cannot start the worker: {error}") from None
        # SIGTERM (ECS stopping the task, a spot notice): claim nothing more; finish the batch in hand, or
        # hand it back when it cannot end before NARCIS_WORKER_STOP_DEADLINE.
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        models = worker.pipeline.models
        self.stdout.write(
            f"worker {worker.worker_id} on {models.name} ({models.device}), batches of {worker.batch_size}, "
            f"{threads} CPU thread{'s' if threads > 1 else ''}",
            ending="\n",
        )
        self.stdout.flush()
        with ready_after_warm_up(worker):  # NARCIS_WORKER_READY_FILE, read by the container's health check
            worker.run_forever()
