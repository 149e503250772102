"""GET /api/me: who the caller is and how many tokens they hold."""

from datetime import datetime

from django.middleware.csrf import get_token
from ninja import Router, Schema

from apps.sessions_tokens import selectors

router = Router(tags=["account"])


class MeOut(Schema):
    authenticated: bool
    email: str | None = None
    balance: int
    guest_expires_at: datetime | None = None


@router.get("/me", response=MeOut, exclude_none=True, summary="The caller's account or guest session")
def me(request):
    """A visitor's guest session starts with their first portrait, not here: before it, `balance` is
    the free tokens it will start with (fewer if this address has had its share today).

    It also sets the CSRF cookie that POSTs must echo in X-CSRFToken, so API clients need no page load.
    """
    get_token(request)
    return selectors.account_summary(request.owner.get())  # reading creates nothing
