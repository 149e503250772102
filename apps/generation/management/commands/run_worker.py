import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.generation.worker import Worker
from inference.faces import face_analyzer
from inference.pipeline import PortraitPipeline
from inference.registry import TINY, ModelRegistry


class Command(BaseCommand):
    help = "Run a GPU worker: claim queued generations, paint them, store the results."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=4, help="most jobs per GPU batch")
        parser.add_argument(
            "--lease", type=int, default=60, help="lease length in seconds, renewed while running"
        )

    def handle(self, *args, batch, lease, **options):
        models_dir = settings.NARCIS_MODELS_DIR or TINY
        models = ModelRegistry.load(models_dir)
        offline = models.name == TINY
        pipeline = PortraitPipeline(
            models, face_analyzer(None if offline else models_dir), require_face=not offline
        )
        worker = Worker(pipeline, batch_size=batch, lease_seconds=lease)
        # SIGTERM (ECS stopping the task, a spot notice): finish the batch in hand, claim nothing more.
        signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: worker.stopping.set())
        self.stdout.write(f"worker {worker.worker_id} on {models.name} ({models.device})")
        worker.run_forever()
