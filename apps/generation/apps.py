from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "apps.generation"
    label = "generation"
    verbose_name = "Generation"

    def ready(self):
        from apps.generation import eta, portraits, status_snapshot  # noqa: F401  (connects their receivers)
        from apps.generation.selectors import guest_sessions_with_live_jobs
        from apps.sessions_tokens import pending_work

        pending_work.register(guest_sessions_with_live_jobs)
