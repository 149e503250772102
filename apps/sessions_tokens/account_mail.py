"""The emails accounts receive, sent through Django's email backend (EMAIL_BACKEND: the console under
`make run`, SMTP in production, a local sink under `make stack`). Links are absolute URLs on the host the
request came to (ALLOWED_HOSTS decides which hosts those can be)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from apps.sessions_tokens.email_verification import verification_token
from apps.sessions_tokens.models import User

logger = logging.getLogger("narcis.accounts")

RESEND_PAUSE_S = 60


def _send(request, *, to: str, template: str, **context) -> None:
    context = {"site": request.get_host(), **context}
    subject = render_to_string(f"sessions_tokens/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"sessions_tokens/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    logger.info("account email sent", extra={"template": template})


def send_verification(request, user: User) -> None:
    path = reverse("accounts:verify_email", args=[verification_token(user)])
    _send(
        request,
        to=user.email,
        template="verify",
        link=request.build_absolute_uri(path),
        days=settings.EMAIL_VERIFICATION_DAYS,
    )


def resend_verification(request, user: User) -> bool:
    """At most one verification email a minute per account; False when this one was held back."""
    if not cache.add(f"verify-resend:{user.pk}", 1, timeout=RESEND_PAUSE_S):
        return False
    send_verification(request, user)
    return True


def send_signup_attempt(request, email: str) -> None:
    """Someone tried to create an account with an address that already has one: tell its owner, never
    the visitor (the page they see is the same as for a new address)."""
    _send(
        request,
        to=email,
        template="signup_attempt",
        login_link=request.build_absolute_uri(reverse("accounts:login")),
        reset_link=request.build_absolute_uri(reverse("accounts:password_reset")),
    )


def send_password_changed(request, user: User) -> None:
    _send(
        request,
        to=user.email,
        template="password_changed",
        reset_link=request.build_absolute_uri(reverse("accounts:password_reset")),
    )
