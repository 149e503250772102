"""Websocket routes, gathered here from the apps that serve one; any other path is closed with 4404."""

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from apps.generation.routing import websocket_urlpatterns as generation_routes

NOT_FOUND = 4404


class NoSuchRoute(AsyncWebsocketConsumer):
    """A clean close instead of channels' "No route found" error (an HTTP 500 at the handshake)."""

    async def connect(self):
        await self.accept()
        await self.close(code=NOT_FOUND)


websocket_urlpatterns: list = [*generation_routes, re_path(r"", NoSuchRoute.as_asgi())]
