"""Sign up, log in, log out, the account page, and deleting one's data: the account ("Delete my account
and all my data", confirmed by password) or a guest session ("Forget me"). Logging in moves guest tokens
(see signals.py). API keys are made and revoked on the account page (api_keys.py)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.sessions_tokens import api_keys, selectors, services
from apps.sessions_tokens.errors import WrongPassword
from apps.sessions_tokens.forms import AccountEraseForm, ApiKeyForm, LoginForm, SignupForm
from apps.sessions_tokens.models import ApiKey


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        request.guest.get()  # a visitor who signs up on their first visit still brings the guest allowance
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Narcis. Your guest tokens are now in your account.")
        return redirect("accounts:profile")
    return render(request, "sessions_tokens/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "sessions_tokens/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("home")


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
            services.account_erase(user=request.user, password=form.cleaned_data["password"])
        except WrongPassword as error:
            form.add_error("password", error.message)
        else:
            logout(request)
            messages.success(request, "Your account, your portraits and your photos have been deleted.")
            return redirect("home")
    return profile(request, erase_form=form)


@require_POST
def guest_forget(request):
    session = None if request.user.is_authenticated else request.guest.get(create=False)
    if session is not None:
        services.guest_erase(session=session)
        request.guest.forget()
    messages.success(request, "Forgotten: your portraits, your photos and your guest session are deleted.")
    return redirect("home")
