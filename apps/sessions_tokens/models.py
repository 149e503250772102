"""Accounts, guest sessions, token wallets and the ledger that explains every balance."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


def exactly_one_owner(name: str) -> models.CheckConstraint:
    """Rows owned by a user or a guest session (wallets, generation jobs): one of the two, never both."""
    return models.CheckConstraint(
        condition=(Q(user__isnull=False) & Q(guest_session__isnull=True))
        | (Q(user__isnull=True) & Q(guest_session__isnull=False)),
        name=name,
    )


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """An account, identified by email (case-insensitive)."""

    email = models.EmailField(unique=True)
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified = models.BooleanField(
        default=False, help_text="The owner opened a link we emailed to this address."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def __str__(self) -> str:
        return self.email


class GuestSession(models.Model):
    """A visitor without an account. The id is the (signed) cookie value, so it is random, not serial."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    linked_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_guest_sessions",
        help_text="The account this session's tokens moved to when its visitor signed up or logged in.",
    )
    linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"guest {str(self.id)[:8]}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Wallet(models.Model):
    """The token balance of exactly one owner: a user or a guest session.

    Changed only by the services in services.py, always with a conditional UPDATE and a ledger row.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="wallet"
    )
    guest_session = models.OneToOneField(
        GuestSession, null=True, blank=True, on_delete=models.CASCADE, related_name="wallet"
    )
    balance = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("grant_tokens", "Can grant tokens to users and guest sessions")]
        constraints = [
            exactly_one_owner("wallet_has_exactly_one_owner"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"wallet of {self.owner}"

    @property
    def owner(self):
        return self.user if self.user_id else self.guest_session


class LedgerReason(models.TextChoices):
    GRANT = "grant", "Grant"
    SPEND = "spend", "Spend"
    REFUND = "refund", "Refund"
    TRANSFER = "transfer", "Transfer"
    EXPIRE = "expire", "Expire"


class LedgerEntry(models.Model):
    """One change of one wallet. Summing a wallet's deltas gives its balance."""

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="ledger")
    delta = models.IntegerField()
    balance_after = models.PositiveIntegerField()
    reason = models.CharField(max_length=16, choices=LedgerReason.choices)
    reference = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="What the change is for, e.g. generation:42."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member behind a grant; empty for the system.",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # The database, not the code path, guarantees one spend and at most one refund per reference.
            models.UniqueConstraint(
                fields=["reference"], condition=Q(reason="spend"), name="ledger_one_spend_per_reference"
            ),
            models.UniqueConstraint(
                fields=["reference"], condition=Q(reason="refund"), name="ledger_one_refund_per_reference"
            ),
            # ... and one transfer out of (and into) a wallet per linked guest session.
            models.UniqueConstraint(
                fields=["wallet", "reference"],
                condition=Q(reason="transfer"),
                name="ledger_one_transfer_per_wallet_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.delta:+d} -> {self.balance_after}"


class ApiKeyScope(models.TextChoices):
    READ = "generations:read", "Read portraits (GET)"
    WRITE = "generations:write", "Create, cancel and delete portraits"


class ApiKey(models.Model):
    """A user's key for programs: `Authorization: Bearer <key>` on /api/. Only a SHA-256 of the key is kept
    (the key is 256 random bits, so a slow hash adds nothing); `prefix` finds the row and is what people
    and logs see."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
