from django.conf import settings
from django.shortcuts import render
from django.views.static import serve

from apps.sessions_tokens import selectors


def home(request):
    """The front door: who you are and what you hold. The PhotoWall landing page grows from here."""
    user = request.user if request.user.is_authenticated else None
    guest = None if user else request.guest.get()
    return render(request, "home.html", {"account": selectors.account_summary(user=user, guest=guest)})


def local_result(request, path: str):
    """A finished portrait from local media (MEDIA_ROOT read per request: tests move it)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)
