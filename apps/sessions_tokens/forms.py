import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordMixin,
)
from django.core.cache import cache

from apps.sessions_tokens import throttling
from apps.sessions_tokens.models import ApiKeyScope, User

RESET_MAIL_PAUSE_S = 60


class SignupForm(SetPasswordMixin, forms.Form):
    """Valid whether or not the address already has an account: the view decides what happens next, and
    the visitor sees the same outcome either way (no account enumeration)."""

    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()

    def clean(self):
        self.validate_passwords()
        cleaned = super().clean()
        if "email" in cleaned:
            self.validate_password_for_user(User(email=cleaned["email"]))
        return cleaned


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check them and try again.",
    }


class AccountEraseForm(forms.Form):
    password = forms.CharField(
        label="Your password, to confirm",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ApiKeyForm(forms.Form):
    EXPIRY_CHOICES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]

    name = forms.CharField(label="Name", max_length=60, help_text="What uses it, e.g. 'studio importer'.")
    scopes = forms.MultipleChoiceField(
        label="Allowed to",
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.values,
        widget=forms.CheckboxSelectMultiple,
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False
    )


class AccountPasswordChangeForm(PasswordChangeForm):
    """The current password is checked through authenticate() with the request: a wrong one counts
    towards the lockout like a wrong login, and a locked-out account is refused."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "That is not your current password. Type it again (or reset it by email).",
    }

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not throttling.password_matches(user=self.user, password=old_password, request=self.request):
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class ResetRequestForm(PasswordResetForm):
    """Django's reset form (an email only to an active account with that address, the same answer for
    any address), with at most one email a minute per address so nobody can flood an inbox."""

    email = forms.EmailField(
        label="Your account's email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def save(self, *args, **kwargs):
        email = self.cleaned_data["email"].strip().lower()
        digest = hashlib.sha256(f"{settings.SECRET_KEY}:{email}".encode()).hexdigest()[:32]
        if cache.add(f"password-reset-mail:{digest}", 1, timeout=RESET_MAIL_PAUSE_S):
            super().save(*args, **kwargs)
