"""Sign up, log in, log out, and the account page. Logging in moves guest tokens (see signals.py)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from apps.sessions_tokens import selectors
from apps.sessions_tokens.forms import LoginForm, SignupForm


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
def profile(request):
    context = {
        "balance": selectors.balance_of(request.user),
        "ledger": selectors.ledger_for(request.user, limit=30),
    }
    return render(request, "sessions_tokens/profile.html", context)
