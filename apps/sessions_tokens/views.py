"""Sign up, log in, log out, the account page, and deleting one's data: the account ("Delete my account
and all my data", confirmed by password) or a guest session ("Forget me"). Logging in moves guest tokens
(see signals.py). API keys are made and revoked on the account page (api_keys.py). Managing an account:
email verification, password change, and "forgot password" by email (Django's own views and tokens).
Every password check counts towards the login lockout (throttling.py)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import make_password
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.sessions_tokens import account_mail, api_keys, selectors, services, throttling
from apps.sessions_tokens.email_verification import InvalidVerificationLink, email_verify
from apps.sessions_tokens.errors import WrongPassword
from apps.sessions_tokens.forms import (
    AccountEraseForm,
    AccountPasswordChangeForm,
    ApiKeyForm,
    LoginForm,
    ResetRequestForm,
    SignupForm,
)
from apps.sessions_tokens.models import ApiKey, GuestSession, User

SIGNUP_EMAIL_KEY = "signup_email"


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, password = form.cleaned_data["email"], form.cleaned_data["password1"]
        if User.objects.filter(email__iexact=email).exists():
            # The same outcome as a new address (no enumeration): its owner gets an email, the visitor is
            # logged in as nobody. Hashing anyway keeps the two answers equally slow.
            make_password(password)
            account_mail.send_signup_attempt(request, email)
        else:
            request.owner.get(create=True)  # a visitor signing up on their first visit brings the allowance
            user = User.objects.create_user(email=email, password=password)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            account_mail.send_verification(request, user)
        request.session[SIGNUP_EMAIL_KEY] = email
        return redirect("accounts:signup_sent")
    return render(request, "sessions_tokens/signup.html", {"form": form})


def signup_sent(request):
    """What every sign-up ends on, whether the address was new or not."""
    return render(
        request, "sessions_tokens/signup_sent.html", {"email": request.session.get(SIGNUP_EMAIL_KEY)}
    )


def verify_email(request, token):
    """The link from the verification email; it works whether or not its opener is logged in."""
    try:
        user = email_verify(token=token)
    except InvalidVerificationLink as error:
        return render(request, "sessions_tokens/verify_failed.html", {"message": error.message}, status=400)
    messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")


@login_required
@require_POST
def verification_resend(request):
    if request.user.email_verified:
        messages.success(request, "Your email address is already confirmed.")
    elif account_mail.resend_verification(request, request.user):
        messages.success(request, f"A new confirmation link is on its way to {request.user.email}.")
    else:
        messages.error(
            request, "We sent you a link less than a minute ago: check your inbox (and spam), then try again."
        )
    return redirect("accounts:profile")


class LoginView(auth_views.LoginView):
    template_name = "sessions_tokens/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("home")


class PasswordChangeView(auth_views.PasswordChangeView):
    """The current password is a password check like a login (it counts and can be locked out); this
    session stays logged in, every other one is logged out, and the owner gets an email about it."""

    template_name = "sessions_tokens/password_change.html"
    form_class = AccountPasswordChangeForm
    success_url = reverse_lazy("accounts:profile")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        account_mail.send_password_changed(self.request, form.user)
        messages.success(self.request, "Your password is changed. Your other devices were logged out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "sessions_tokens/password_reset.html"
    form_class = ResetRequestForm
    email_template_name = "sessions_tokens/email/password_reset.txt"
    subject_template_name = "sessions_tokens/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "sessions_tokens/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password through the emailed link proves the address is the owner's: the address
    counts as verified, and the account's login lockout is lifted."""

    template_name = "sessions_tokens/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        User.objects.filter(pk=form.user.pk).update(email_verified=True)
        throttling.unlock(email=form.user.email)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "sessions_tokens/password_reset_complete.html"


@login_required
def profile(request, erase_form: AccountEraseForm | None = None, key_form: ApiKeyForm | None = None, **extra):
    context = {
        "balance": selectors.balance_of(request.user),
        "ledger": selectors.ledger_for(request.user, limit=30),
        "erase_form": erase_form or AccountEraseForm(),
        "key_form": key_form or ApiKeyForm(),
        "api_keys": api_keys.keys_of(request.user),
        **extra,
    }
    status = 400 if erase_form or key_form else 200
    return render(request, "sessions_tokens/profile.html", context, status=status)


@login_required
@require_POST
def api_key_create(request):
    """The new key is in this one response and nowhere else (not stored, not in a message, not logged)."""
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        try:
            issued = api_keys.api_key_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            )
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            response = profile(request, new_key=issued)
            response["Cache-Control"] = "no-store"
            return response
    return profile(request, key_form=form)


@login_required
@require_POST
def api_key_revoke(request, key_id):
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    api_keys.api_key_revoke(key=key)
    messages.success(request, f"The key {key.name} ({key.prefix}…) is revoked: it stopped working at once.")
    return redirect("accounts:profile")


@login_required
@require_POST
def account_erase(request):
    form = AccountEraseForm(request.POST)
    if form.is_valid():
        try:
            services.account_erase(user=request.user, password=form.cleaned_data["password"], request=request)
        except WrongPassword as error:
            form.add_error("password", error.message)
        else:
            logout(request)
            messages.success(request, "Your account, your portraits and your photos have been deleted.")
            return redirect("home")
    return profile(request, erase_form=form)


@require_POST
def guest_forget(request):
    session = request.owner.get()  # a guest session, or the logged-in user (who has none to forget)
    if isinstance(session, GuestSession):
        services.guest_erase(session=session)
        request.guest.forget()
    messages.success(request, "Forgotten: your portraits, your photos and your guest session are deleted.")
    return redirect("home")
