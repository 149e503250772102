"""Login throttling, through django-axes (settings.AXES_*): every password check is an authenticate()
call with the request, so axes counts its failures in the database (every web process sees the same
rows) and refuses a locked-out account or address before any password is hashed.

Locked out: after LOGIN_FAILURE_LIMIT wrong passwords for one account (from any address), or from one
address (on any accounts), within LOGIN_LOCKOUT_MINUTES. The site login, the admin login, the password
change and "delete my account" all count and all refuse. Staff unlock in the admin (Access attempts, or
the users' action) and a reset of the password by email unlocks that account.
"""

from __future__ import annotations

import datetime as dt
import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_parameters, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth import authenticate
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone

from apps.sessions_tokens.models import User


def client_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: emails are case-insensitive, so ADA@ and ada@ are one account's tries."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "POST", {}).get("username")
    return username.strip().lower() if isinstance(username, str) else None


def password_matches(*, user: User, password: str, request=None) -> bool:
    """A password re-check by a logged-in user (password change, deleting the account). With a request
    it is an authenticate() call: a failure counts towards the lockout, and a locked-out account or
    address is refused (the response then becomes the lockout page). Without one (the shell) it is a
    plain check."""
    if request is None:
        return user.check_password(password)
    return authenticate(request, username=user.get_username(), password=password) == user


def unlock(*, email: str) -> int:
    """Forget an account's failed attempts (staff's unlock, a password reset by email); returns the
    number of attempt rows deleted."""
    return reset(username=client_username(None, {"username": email}))


def retry_after(request, credentials: dict | None = None) -> int:
    """Seconds until this request's account and address are both below the limit again: the lockout lasts
    LOGIN_LOCKOUT_MINUTES after the last failure counted in the group that reached the limit."""
    AxesProxyHandler.update_request(request)
    cool_off = get_cool_off(request)
    now = timezone.now()
    groups = get_client_parameters(
        client_username(request, credentials),
        request.axes_ip_address,
        request.axes_user_agent,
        request,
        credentials,
    )
    last = None
    for group in groups:
        recent = AccessAttempt.objects.filter(**group, attempt_time__gte=now - cool_off)
        totals = recent.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        if (totals["failures"] or 0) >= get_failure_limit(request, credentials):
            last = max(last or totals["last"], totals["last"])
    until = (last or now) + cool_off
    return max(1, math.ceil((until - now).total_seconds()))


def lockout_response(request, original_response=None, credentials: dict | None = None):
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After, and a page that says when to try again and what else
    one can do meanwhile."""
    if not isinstance(credentials, dict):  # axes' async path passes (request, credentials)
        credentials = None
    seconds = retry_after(request, credentials)
    context = {
        "minutes": math.ceil(seconds / 60),
        "until": timezone.now() + dt.timedelta(seconds=seconds),
    }
    response = render(request, "sessions_tokens/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
