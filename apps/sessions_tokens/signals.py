"""Every user has a wallet; logging in (or signing up) moves the visitor's guest tokens to it."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.sessions_tokens import services
from apps.sessions_tokens.models import User, Wallet


@receiver(post_save, sender=User, dispatch_uid="sessions_tokens.user_wallet")
def create_user_wallet(sender, instance: User, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        Wallet.objects.get_or_create(user=instance)


@receiver(user_logged_in, dispatch_uid="sessions_tokens.link_guest")
def link_guest_on_login(sender, request, user, **kwargs):
    handle = getattr(request, "guest", None)
    session = handle.get(create=False) if handle is not None else None
    if session is not None:
        services.link_guest_to_user(session=session, user=user)
