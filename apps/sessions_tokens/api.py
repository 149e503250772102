"""GET /api/me: who the caller is and how many tokens they hold."""

from django.middleware.csrf import get_token
from ninja import Router

from apps.sessions_tokens import guest_snapshot, selectors
from apps.sessions_tokens.models import GuestSession
from apps.sessions_tokens.schemas import MeOut

router = Router(tags=["account"])


@router.get("/me", response=MeOut, exclude_none=True, summary="The caller's account or guest session")
def me(request):
    """A visitor's guest session starts with their first portrait, not here: before it, `balance` is
    the free tokens it will start with (fewer if this address has had its share today).

    It also sets the CSRF cookie that POSTs must echo in X-CSRFToken, so API clients need no page load.
    """
    get_token(request)
    owner = request.owner.get()  # reading creates nothing
    if isinstance(owner, GuestSession):
        guest_snapshot.refresh(owner.pk)  # a guest's next call is answered in front of Django
    return selectors.account_summary(owner)
