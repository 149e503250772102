"""Email verification: a signed, time-limited link sent at sign-up (and on request from the account page).

The token is Django's signing of (user id, address): it expires after EMAIL_VERIFICATION_DAYS and stops
matching once the account's address changes. The account works meanwhile; the account page says it is
unverified and staff see the flag in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from apps.sessions_tokens.models import User

SALT = "narcis.sessions_tokens.email-verification"


class InvalidVerificationLink(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def verification_token(user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email}, salt=SALT, compress=True)


def email_verify(*, token: str) -> User:
    """Mark the account the link was made for as verified; returns it. Opening a link twice is fine."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFICATION_DAYS * 24 * 3600)
    except signing.SignatureExpired:
        raise InvalidVerificationLink(
            "This verification link has expired. Log in and ask for a new one on your account page."
        ) from None
    except signing.BadSignature:
        raise InvalidVerificationLink(
            "This verification link is not valid (it may be cut short: copy the whole link from the email)."
        ) from None
    user = User.objects.filter(pk=data.get("user"), email__iexact=data.get("email", "")).first()
    if user is None:
        raise InvalidVerificationLink(
            "This verification link is for an address that no account uses any more. Nothing was changed."
        )
    if not user.email_verified:
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
    return user
