"""Websocket routes, gathered here from the apps that serve one."""

websocket_urlpatterns: list = []
