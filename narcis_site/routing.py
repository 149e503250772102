"""Websocket routes, gathered here from the apps that serve one."""

from apps.generation.routing import websocket_urlpatterns as generation_routes

websocket_urlpatterns: list = [*generation_routes]
