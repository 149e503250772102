from django.apps import AppConfig


class SessionsTokensConfig(AppConfig):
    name = "apps.sessions_tokens"
    label = "sessions_tokens"
    verbose_name = "Sessions and tokens"

    def ready(self):
        from apps.sessions_tokens import guest_snapshot, signals  # noqa: F401  (connects the receivers)
