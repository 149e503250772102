from django.apps import AppConfig


class DiscordOpsConfig(AppConfig):
    name = "apps.discord_ops"
    label = "discord_ops"
    verbose_name = "Operators' console"
