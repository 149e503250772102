from django.urls import path

from apps.generation import views, webhook_views

app_name = "portraits"
urlpatterns = [
    path("", views.portrait_list, name="list"),
    path("webhooks/", webhook_views.webhook_settings, name="webhooks"),
    path("webhooks/secret/", webhook_views.webhook_secret_rotate, name="webhook_secret"),
    path("webhooks/<uuid:delivery_id>/redeliver/", webhook_views.webhook_redeliver, name="webhook_redeliver"),
    path("<uuid:job_id>/thumbnail.jpg", views.portrait_thumbnail, name="thumbnail"),
    path("<uuid:job_id>/<slug:action>/", views.portrait_action, name="action"),
]
