import signal
import threading

from django.core.management.base import BaseCommand

from apps.generation import webhooks


class Command(BaseCommand):
    help = (
        "Send due webhook deliveries, retrying failures with backoff (apps/generation/webhooks.py). Any "
        "number may run: each claims its own rows. SIGTERM ends it after the delivery in hand."
    )

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between rounds when idle")
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")

    def handle(self, *args, poll, once, **options):
        if once:
            self.stdout.write(f"{webhooks.deliver_due()} deliveries attempted")
            return
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        webhooks.run_forever(stopping, poll_s=poll)
