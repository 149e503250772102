from django.apps import AppConfig


class DiscordOpsConfig(AppConfig):
    name = "apps.discord_ops"
    label = "discord_ops"
    verbose_name = "Operators' console"

    def ready(self):
        from apps.discord_ops.selectors import visitor_defaults
        from apps.generation import job_params

        job_params.provide_visitor_defaults(visitor_defaults)
