from django.urls import re_path

from apps.generation.consumers import GenerationConsumer

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

websocket_urlpatterns = [
    re_path(rf"^ws/generations/(?P<job_id>{UUID})/$", GenerationConsumer.as_asgi()),
]
