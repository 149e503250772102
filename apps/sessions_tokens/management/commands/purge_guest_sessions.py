from django.core.management.base import BaseCommand

from apps.sessions_tokens import services


class Command(BaseCommand):
    help = "Expire the tokens of expired guest sessions and delete those that have no pending work."

    def handle(self, *args, **options):
        result = services.guest_sessions_purge()
        self.stdout.write(
            f"Expired the balances of {result.balances_expired} guest session(s); "
            f"deleted {result.sessions_deleted} guest session(s) with no pending work."
        )
