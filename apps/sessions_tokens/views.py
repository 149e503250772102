"""Sign up, log in, log out, the account page, and deleting one's data: the account ("Delete my account
and all my data", confirmed by password) or a guest session ("Forget me"). Logging in moves guest tokens
(see signals.py)."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.sessions_tokens import selectors, services
from apps.sessions_tokens.errors import WrongPassword
from apps.sessions_tokens.forms import AccountEraseForm, LoginForm, SignupForm


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
def profile(request, erase_form: AccountEraseForm | None = None):
    context = {
        "balance": selectors.balance_of(request.user),
        "ledger": selectors.ledger_for(request.user, limit=30),
        "erase_form": erase_form or AccountEraseForm(),
    }
    return render(request, "sessions_tokens/profile.html", context, status=400 if erase_form else 200)


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
