"""Writes to token balances. Every change is one conditional UPDATE plus one ledger row, in one transaction.

Never read a balance, compute, and write it back: two requests doing that at once both see the same
balance and one change is lost. The WHERE clause of the UPDATE is the only check that counts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.sessions_tokens import events, pending_work, throttling
from apps.sessions_tokens.errors import (
    DuplicateReference,
    GuestSessionExpired,
    InsufficientTokens,
    InvalidAmount,
    UnknownReference,
    WrongPassword,
)
from apps.sessions_tokens.models import GuestSession, LedgerEntry, LedgerReason, User, Wallet
from apps.sessions_tokens.selectors import Owner, wallet_for

logger = logging.getLogger("narcis.tokens")

MAX_GRANT = 10_000
GRANT_PERMISSION = "sessions_tokens.grant_tokens"


def _apply(
    wallet: Wallet,
    delta: int,
    *,
    reason: str,
    reference: str = "",
    actor: User | None = None,
    note: str = "",
) -> LedgerEntry:
    """Change one balance by delta and record it. Must run inside transaction.atomic."""
    now = timezone.now()
    rows = Wallet.objects.filter(pk=wallet.pk)
    if delta < 0:
        rows = rows.filter(balance__gte=-delta)
    if rows.update(balance=F("balance") + delta, updated_at=now) != 1:
        raise InsufficientTokens.for_owner(is_user=False)
    # Our UPDATE holds the row lock until commit, so this read sees exactly our result.
    balance_after = Wallet.objects.values_list("balance", flat=True).get(pk=wallet.pk)
    wallet.balance = balance_after
    return LedgerEntry.objects.create(
        wallet=wallet,
        delta=delta,
        balance_after=balance_after,
        reason=reason,
        reference=reference,
        actor=actor,
        note=note[:200],
        created_at=now,
    )


def guest_session_create(*, now: dt.datetime | None = None, allowance: bool = True) -> GuestSession:
    """A new visitor: a session that expires after GUEST_SESSION_DAYS, with the guest allowance unless
    `allowance` is False (its address has had its share of free tokens today)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = GuestSession.objects.create(
            created_at=now, expires_at=now + dt.timedelta(days=settings.GUEST_SESSION_DAYS)
        )
        wallet = Wallet.objects.create(guest_session=session, balance=0)
        if allowance and settings.TOKEN_COUNT_FOR_GUESTS > 0:
            _apply(wallet, settings.TOKEN_COUNT_FOR_GUESTS, reason=LedgerReason.GRANT, note="guest allowance")
    return session


def spend(*, owner: Owner, amount: int = 1, reference: str, actor: User | None = None) -> LedgerEntry:
    """Take `amount` tokens for `reference` (one spend per reference). Raises InsufficientTokens."""
    if amount < 1:
        raise InvalidAmount("A spend must be at least one token.")
    if not reference:
        raise InvalidAmount("A spend needs a reference, such as the generation it pays for.")
    if isinstance(owner, GuestSession) and owner.is_expired:
        raise GuestSessionExpired(
            "Your guest session has expired. Reload the page to start a new one, or sign up to keep tokens."
        )
    wallet = wallet_for(owner)
    try:
        with transaction.atomic():
            entry = _apply(wallet, -amount, reason=LedgerReason.SPEND, reference=reference, actor=actor)
    except IntegrityError:
        raise DuplicateReference(f"Tokens were already spent for {reference}.") from None
    except InsufficientTokens:
        if isinstance(owner, User):
            raise InsufficientTokens.for_owner(is_user=True) from None
        raise
    # After the outermost commit: a spend rolled back with its caller's transaction was never made.
    fields = {"reference": reference, "amount": amount, "wallet": wallet.pk}
    transaction.on_commit(lambda: logger.info("tokens spent", extra=fields))
    return entry


def _refund_target(spend_entry: LedgerEntry) -> Wallet:
    """A guest who has since signed up gets the refund on the account their tokens moved to.

    Runs inside the refund's transaction and locks the session row: a log-in linking this session
    right now holds that lock, so the refund waits for it and then sees the link.
    """
    wallet = spend_entry.wallet
    if wallet.guest_session_id is None:
        return wallet
    linked_user_id = (
        GuestSession.objects.select_for_update()
        .values_list("linked_user_id", flat=True)
        .get(pk=wallet.guest_session_id)
    )
    if linked_user_id is None:
        return wallet
    return Wallet.objects.get_or_create(user_id=linked_user_id)[0]


def refund(*, reference: str, actor: User | None = None) -> LedgerEntry:
    """Give back what was spent for `reference`, exactly once; repeated calls return the first refund."""
    spend_entry = (
        LedgerEntry.objects.filter(reason=LedgerReason.SPEND, reference=reference)
        .select_related("wallet")
        .first()
    )
    if spend_entry is None:
        raise UnknownReference(f"No token was spent for {reference!r}, so there is nothing to refund.")
    try:
        with transaction.atomic():
            target = _refund_target(spend_entry)
            entry = _apply(
                target, -spend_entry.delta, reason=LedgerReason.REFUND, reference=reference, actor=actor
            )
    except IntegrityError:
        # The unique constraint fired: someone refunded this reference first. Our credit rolled back.
        return LedgerEntry.objects.get(reason=LedgerReason.REFUND, reference=reference)
    logger.info("tokens refunded", extra={"reference": reference, "amount": entry.delta, "wallet": target.pk})
    return entry


def grant(*, owner: Owner, amount: int, actor: User, reason: str) -> LedgerEntry:
    """Staff give tokens, with a reason that the ledger keeps."""
    if actor is None or not (actor.is_active and actor.is_staff and actor.has_perm(GRANT_PERMISSION)):
        raise PermissionDenied("Only staff with the 'grant tokens' permission can grant tokens.")
    if not 1 <= amount <= MAX_GRANT:
        raise InvalidAmount(f"A grant must be between 1 and {MAX_GRANT} tokens.")
    reason = reason.strip()
    if not reason:
        raise InvalidAmount("A grant needs a reason.")
    wallet = wallet_for(owner)
    with transaction.atomic():
        entry = _apply(wallet, amount, reason=LedgerReason.GRANT, actor=actor, note=reason)
    logger.info("tokens granted", extra={"amount": amount, "wallet": wallet.pk, "actor_id": actor.pk})
    return entry


def operator_budget_top_up(*, user: User, needed: int, note: str) -> LedgerEntry | None:
    """Operators spend no visitor tokens: before a test session the system grants their staff account
    exactly what its jobs will spend beyond its balance, with `note` in the ledger (so every operator
    job is still one spend on one ledger line, and refunds of failed ones come back to the account)."""
    if not user.is_staff:
        raise PermissionDenied("Only staff accounts have an operator budget.")
    with transaction.atomic():
        wallet = Wallet.objects.select_for_update().get(pk=wallet_for(user).pk)
        missing = needed - wallet.balance
        if missing <= 0:
            return None
        entry = _apply(wallet, missing, reason=LedgerReason.GRANT, note=f"operator budget: {note}")
    logger.info("operator budget granted", extra={"amount": missing, "user_id": user.pk})
    return entry


def link_guest_to_user(*, session: GuestSession, user: User) -> LedgerEntry | None:
    """Move a guest's tokens (and, through `events.guest_linked`, their portraits) to the account they
    signed up or logged in with, exactly once.

    The claim is a conditional UPDATE on the session row: of two concurrent log-ins, the second
    waits for the first's row lock, then finds the session already linked and moves nothing.
    Returns the transfer into the user's wallet, or None when there was nothing to move.
    """
    with transaction.atomic():
        now = timezone.now()
        claimed = GuestSession.objects.filter(pk=session.pk, linked_user__isnull=True).update(
            linked_user=user, linked_at=now
        )
        if not claimed:
            return None
        # Locks the guest wallet so a spend (and the job it pays for) cannot slip in between moving
        # the session's portraits, reading the balance and emptying it.
        guest_wallet = Wallet.objects.select_for_update().get(guest_session_id=session.pk)
        events.guest_linked.send(sender=GuestSession, session=session, user=user)
        amount = guest_wallet.balance
        expired = GuestSession.objects.filter(pk=session.pk, expires_at__lte=now).exists()
        if amount == 0 or expired:
            return None
        reference = f"guest:{session.pk}"
        _apply(guest_wallet, -amount, reason=LedgerReason.TRANSFER, reference=reference, note=f"to {user}")
        entry = _apply(
            wallet_for(user),
            amount,
            reason=LedgerReason.TRANSFER,
            reference=reference,
            note="from guest session",
        )
    logger.info(
        "guest tokens linked", extra={"session": str(session.pk)[:8], "amount": amount, "user_id": user.pk}
    )
    return entry


@dataclass(frozen=True)
class PurgeResult:
    balances_expired: int
    sessions_deleted: int


def guest_sessions_purge(*, now: dt.datetime | None = None) -> PurgeResult:
    """Expire what expired guests still hold, then delete those with no pending work."""
    now = now or timezone.now()
    expired = GuestSession.objects.filter(expires_at__lte=now)
    balances_expired = 0
    for wallet in Wallet.objects.filter(guest_session__in=expired, balance__gt=0).iterator():
        with transaction.atomic():
            locked = Wallet.objects.select_for_update().get(pk=wallet.pk)
            if locked.balance > 0:
                _apply(locked, -locked.balance, reason=LedgerReason.EXPIRE, note="guest session expired")
                balances_expired += 1
    idle = expired.exclude(pk__in=pending_work.guest_sessions_with_pending_work())
    removed_sessions = 0
    for session in idle.iterator():  # one by one: each takes its portraits' files with it
        with transaction.atomic():
            _erase(session)
        removed_sessions += 1
    logger.info("guest sessions purged", extra={"expired": balances_expired, "deleted": removed_sessions})
    return PurgeResult(balances_expired=balances_expired, sessions_deleted=removed_sessions)


def account_erase(*, user: User, password: str, request=None) -> None:
    """Delete an account and everything of its owner's: portraits, selfies, wall copies (through
    `events.owner_erasing`), the guest sessions that were linked to it, its wallet and ledger. The
    password confirms that the person asking is the owner; given the request, the check counts towards
    the login lockout and is refused while it holds (throttling.password_matches)."""
    if not throttling.password_matches(user=user, password=password, request=request):
        raise WrongPassword("That is not your password. Nothing was deleted.")
    user_id = user.pk
    with transaction.atomic():
        for session in GuestSession.objects.filter(linked_user=user):
            _erase(session)
        _erase(user)
    logger.info("account erased", extra={"user_id": user_id})


def guest_erase(*, session: GuestSession) -> None:
    """'Forget me' for a visitor without an account: their portraits, selfies and session, all gone."""
    session_id = str(session.pk)  # the deletion empties session.pk
    with transaction.atomic():
        _erase(session)
    logger.info("guest session erased", extra={"session": session_id[:8]})


def _erase(owner: Owner) -> None:
    events.owner_erasing.send(sender=type(owner), owner=owner)
    owner.delete()  # with its wallet and ledger
