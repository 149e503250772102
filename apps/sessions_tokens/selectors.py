"""Reads of sessions, wallets and balances. Other apps read tokens only through here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.sessions_tokens.errors import InsufficientTokens
from apps.sessions_tokens.models import GuestSession, LedgerEntry, User, Wallet

Owner = User | GuestSession
GUEST_COOKIE_SALT = "narcis.guest-session"


def wallet_for(owner: Owner) -> Wallet:
    if isinstance(owner, User):
        # Every user gets a wallet on creation (signals.py); get_or_create covers users loaded from fixtures.
        wallet, _ = Wallet.objects.get_or_create(user=owner)
        return wallet
    if isinstance(owner, GuestSession):
        return Wallet.objects.get(guest_session=owner)
    raise TypeError(f"a token owner is a User or a GuestSession, not {type(owner).__name__}")


def balance_of(owner: Owner) -> int:
    return wallet_for(owner).balance


def check_balance_covers(owner: Owner, *, amount: int) -> None:
    """InsufficientTokens unless the balance holds `amount`: a cheap pre-check before costly work.
    Only services.spend decides (its conditional UPDATE); a balance read here may be stale."""
    if balance_of(owner) < amount:
        raise InsufficientTokens.for_owner(is_user=isinstance(owner, User))


def guest_session_get(session_id: str | uuid.UUID) -> GuestSession | None:
    try:
        return GuestSession.objects.get(pk=session_id)
    except (GuestSession.DoesNotExist, ValueError, TypeError):
        return None


def guest_session_from_cookies(cookies: dict) -> GuestSession | None:
    """The live guest session the signed guest cookie names: None when it is missing, forged (the
    signature fails), unknown or expired. For HTTP requests and websocket handshakes alike."""
    request = HttpRequest()
    request.COOKIES = cookies
    session_id = request.get_signed_cookie(settings.GUEST_COOKIE_NAME, default=None, salt=GUEST_COOKIE_SALT)
    session = guest_session_get(session_id) if session_id else None
    return None if session is None or session.is_expired else session


def ledger_for(owner: Owner, *, limit: int = 50) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(wallet=wallet_for(owner)).select_related("actor")[:limit]


@dataclass(frozen=True)
class AccountSummary:
    authenticated: bool
    balance: int
    email: str | None = None
    guest_expires_at: datetime | None = None


def account_summary(owner: User | GuestSession | None) -> AccountSummary:
    """The account or guest session a request acts for (request.owner.get(): reading creates nothing)."""
    if isinstance(owner, User):
        return AccountSummary(authenticated=True, email=owner.email, balance=balance_of(owner))
    guest = owner
    if guest is None:
        # No session until the visitor's first portrait: show the free tokens it starts with.
        return AccountSummary(authenticated=False, balance=settings.TOKEN_COUNT_FOR_GUESTS)
    return AccountSummary(authenticated=False, balance=balance_of(guest), guest_expires_at=guest.expires_at)
