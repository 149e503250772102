"""A visitor's guest session as their first portrait starts it, for tests that begin after that point."""

from __future__ import annotations

from django.conf import settings

from apps.sessions_tokens import services
from apps.sessions_tokens.models import GuestSession
from tests.campaign_clients import guest_cookie


def start_guest(client) -> GuestSession:
    """A guest session with the allowance, its signed cookie held by `client` (a Django test Client)."""
    session = services.guest_session_create()
    client.cookies[settings.GUEST_COOKIE_NAME] = guest_cookie(session).split("=", 1)[1]
    return session
