"""python manage.py run_discord_bot: the operators' console on Discord (DISCORD_BOT_TOKEN,
DISCORD_GUILD_IDS). Without a token it exits at once (status 2) saying so."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inference.models.threads import ProcessKind, size_torch_threads


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def handle(self, *args, **options):
        token = settings.DISCORD_BOT_TOKEN
        if not token:
            raise CommandError(
                "DISCORD_BOT_TOKEN is not set: create a bot in the Discord developer portal, invite it to "
                "your server, and set DISCORD_BOT_TOKEN (and DISCORD_GUILD_IDS) in the environment.",
                returncode=2,
            )
        from apps.discord_ops.bot.client import build_bot

        size_torch_threads(ProcessKind.BOT)  # one thread: the cores stay the workers'
        guild_ids = settings.DISCORD_GUILD_IDS
        where = guild_ids or "every server it is in (global commands)"
        self.stdout.write(f"Narcis operators' bot starting on guild(s) {where}")
        build_bot(guild_ids).run(token)
