"""The owner of a request is one attribute, request.owner, set by the guest-session middleware: the
logged-in user (an API key's user included), else the cookie's guest session, created only when asked
(issue 33, item 3). Generation reads it; it never rebuilds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from apps.sessions_tokens.middleware import GuestSessionMiddleware
from apps.sessions_tokens.models import GuestSession

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]
MIDDLEWARE = ROOT / "apps" / "sessions_tokens" / "middleware.py"  # where the one answer is built


def through_middleware(user) -> object:
    request = RequestFactory().get("/api/generations")
    request.user = user
    seen = {}

    def view(request):
        seen["owner"] = request.owner
        return HttpResponse()

    GuestSessionMiddleware(view)(request)
    return seen["owner"]


def test_a_visitor_with_nothing_owns_nothing_until_their_first_submit_asks():
    owner = through_middleware(AnonymousUser())
    assert owner.get() is None and not GuestSession.objects.exists()  # reading creates nothing
    created = owner.get(create=True)
    assert isinstance(created, GuestSession) and owner.get() == created


def test_a_logged_in_user_is_the_owner(make_user):
    user = make_user()
    assert through_middleware(user).get(create=True) == user and not GuestSession.objects.exists()


def test_no_module_rebuilds_the_owner_from_the_user_and_the_cookie():
    """Generation, the photowall, the accounts' pages and API, the site: all read request.owner."""
    rebuilt = re.compile(r"is_authenticated else .*guest|guest\.get\(")
    sources = [*(ROOT / "apps").rglob("*.py"), *(ROOT / "narcis_site").rglob("*.py")]
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        if path != MIDDLEWARE and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if rebuilt.search(line)
    ]
    assert found == []
