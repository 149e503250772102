"""Who may use the operators' console."""

from __future__ import annotations

import logging

from apps.discord_ops.errors import NotAnOperator
from apps.discord_ops.models import Operator

logger = logging.getLogger("narcis.ops")


def operator_account(*, discord_user_id: str | None = None, role_ids=(), email: str | None = None):
    """The staff account an operator acts as: by Discord user id, else by one of their Discord role ids,
    else (the terminal) by the account's email. Anyone else: NotAnOperator, and an audit log line."""
    entries = Operator.objects.filter(active=True, account__is_active=True, account__is_staff=True)
    entry = None
    if discord_user_id:
        entry = entries.filter(discord_user_id=str(discord_user_id)).first()
    if entry is None and role_ids:
        entry = entries.filter(discord_role_id__in=[str(r) for r in role_ids]).first()
    if entry is None and email:
        entry = entries.filter(account__email__iexact=email).first()
    if entry is None:
        logger.warning(
            "operator console refused", extra={"discord_user_id": discord_user_id or "", "email": bool(email)}
        )
        raise NotAnOperator("You are not on the operators' list. Ask a Narcis admin to add you.")
    return entry.account
