from django.shortcuts import render

from apps.sessions_tokens import selectors


def home(request):
    """The front door: who you are and what you hold. The PhotoWall landing page grows from here."""
    user = request.user if request.user.is_authenticated else None
    guest = None if user else request.guest.get()
    return render(request, "home.html", {"account": selectors.account_summary(user=user, guest=guest)})
