"""Staff-only admin: users with balances (and whether their email is confirmed), guest sessions, the
read-only ledger, granting tokens, API keys, unlocking logins. Every failed password check is in Axes'
"Access attempts" (django-axes' own admin): deleting an account's or an address's rows unlocks it, and the
users' action below does it by account."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from apps.sessions_tokens import api_keys, services, throttling
from apps.sessions_tokens.errors import TokenError
from apps.sessions_tokens.models import ApiKey, GuestSession, LedgerEntry, User


class GrantTokensForm(forms.Form):
    amount = forms.IntegerField(min_value=1, max_value=services.MAX_GRANT, initial=5)
    reason = forms.CharField(max_length=200, help_text="Kept in the ledger, e.g. 'support ticket 1234'.")


class GrantPermissionMixin:
    def has_grant_permission(self, request) -> bool:
        return request.user.has_perm(services.GRANT_PERMISSION)


@admin.action(description="Grant tokens to the selected owners", permissions=["grant"])
def grant_tokens(modeladmin, request, queryset):
    """Two-step action: show a form for amount and reason, then grant to each selected owner."""
    form = GrantTokensForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        granted = 0
        for owner in queryset:
            try:
                services.grant(
                    owner=owner,
                    amount=form.cleaned_data["amount"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except (TokenError, PermissionDenied) as exc:
                modeladmin.message_user(request, f"{owner}: {exc}", messages.ERROR)
                continue
            granted += 1
        level = messages.SUCCESS if granted == len(queryset) else messages.WARNING
        modeladmin.message_user(
            request,
            f"Granted {form.cleaned_data['amount']} tokens to {granted} of {len(queryset)} owner(s).",
            level,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Grant tokens",
        "form": form,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action_name": "grant_tokens",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/sessions_tokens/grant_tokens.html", context)


@admin.action(
    description="Unlock their logins (forget their failed password attempts)", permissions=["change"]
)
def unlock_logins(modeladmin, request, queryset):
    deleted = sum(throttling.unlock(email=user.email) for user in queryset)
    modeladmin.message_user(
        request, f"Unlocked {len(queryset)} account(s): {deleted} failed-attempt record(s) forgotten."
    )


class SignupAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email",)


@admin.register(User)
class UserAdmin(GrantPermissionMixin, DjangoUserAdmin):
    add_form = SignupAdminForm
    form = UserEditForm
    list_display = ("email", "balance", "email_verified", "is_staff", "is_active", "date_joined")
    list_filter = ("email_verified", "is_staff", "is_superuser", "is_active")
    search_fields = ("email",)
    ordering = ("-date_joined",)
    readonly_fields = ("balance", "date_joined", "last_login")
    actions = [grant_tokens, unlock_logins]
    fieldsets = (
        (None, {"fields": ("email", "email_verified", "password", "balance")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet")

    @admin.display(description="Tokens", ordering="wallet__balance")
    def balance(self, user: User) -> int:
        wallet = getattr(user, "wallet", None)
        return wallet.balance if wallet else 0


@admin.register(GuestSession)
class GuestSessionAdmin(GrantPermissionMixin, admin.ModelAdmin):
    list_display = ("short_id", "balance", "created_at", "expires_at", "expired", "linked_user")
    list_filter = ("expires_at",)
    search_fields = ("id", "linked_user__email")
    readonly_fields = ("id", "created_at", "expires_at", "linked_user", "linked_at", "balance")
    actions = [grant_tokens]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet", "linked_user")

    def has_add_permission(self, request):
        return False  # guest sessions start from a visitor's browser, never by hand

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Session")
    def short_id(self, session: GuestSession) -> str:
        return str(session.pk)[:8]

    @admin.display(description="Tokens", ordering="wallet__balance")
    def balance(self, session: GuestSession) -> int:
        return session.wallet.balance

    @admin.display(description="Expired", boolean=True)
    def expired(self, session: GuestSession) -> bool:
        return session.is_expired


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is the audit trail, so nobody edits or deletes it by hand."""

    list_display = ("created_at", "owner", "reason", "delta", "balance_after", "reference", "actor", "note")
    list_filter = ("reason",)
    search_fields = ("reference", "note", "wallet__user__email")
    list_select_related = ("wallet__user", "wallet__guest_session", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Owner")
    def owner(self, entry: LedgerEntry) -> str:
        return str(entry.wallet.owner)


@admin.action(description="Revoke the selected keys (they stop working at once)", permissions=["change"])
def revoke_keys(modeladmin, request, queryset):
    for key in queryset.filter(revoked_at__isnull=True):
        api_keys.api_key_revoke(key=key)
    messages.success(request, "Revoked.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Every user's keys, by prefix (the key itself was never stored); staff revoke, never create."""

    list_display = ("name", "prefix", "user", "scopes", "created_at", "expires_at", "last_used_at", "state")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__email")
    fields = ("name", "prefix", "user", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    actions = [revoke_keys]

    def has_add_permission(self, request):
        return False
