from django.urls import re_path

from apps.generation.consumers import GenerationConsumer

websocket_urlpatterns = [
    re_path(r"^ws/generations/(?P<job_id>[0-9a-f-]{36})/$", GenerationConsumer.as_asgi()),
]
