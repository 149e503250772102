from django.apps import AppConfig


class PhotowallConfig(AppConfig):
    name = "apps.photowall"
    verbose_name = "PhotoWall"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.photowall import signals  # noqa: F401 - connects the cache reload on publish changes
