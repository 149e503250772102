"""Login throttling holds across web processes: two webs on one PostgreSQL database, wrong passwords
spread over the site login, the admin login and the "delete my account" check of both, and the right
password is then refused by either. axes keeps its count in the database, so no process has its own."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from apps.sessions_tokens.models import User
from tests.apps.generation.processes import child_env, current_database_url, free_port
from tests.campaign_clients import WebServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PASSWORD = "violet-harbour-lantern-7"
WRONG = "not-my-password-at-all"


class Browser:
    """One cookie jar against one web process; posts forms with their CSRF token, as a browser does."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def open(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Referer": self.base + path}
        try:
            response = self.opener.open(urllib.request.Request(self.base + path, body, headers), timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        # Header names compared case-insensitively: uvicorn sends them lower-case, as HTTP allows.
        return response.status, response.headers, response.read().decode()

    def post_form(self, page: str, action: str, fields: dict):
        _, _, html = self.open(page)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        return self.open(action, {"csrfmiddlewaretoken": token, **fields})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer we read


@pytest.fixture
def two_web_processes(tmp_path):
    env = child_env(
        DATABASE_URL=current_database_url(),
        NARCIS_MEDIA_ROOT=str(tmp_path / "media"),
        NARCIS_CACHE_DIR=str(tmp_path / "cache"),
    )
    servers = [WebServer(free_port(), env), WebServer(free_port(), env)]
    for server in servers:
        server.start()
    yield [server.base for server in servers]
    for server in servers:
        server.stop()


def test_ten_wrong_passwords_over_two_processes_and_three_checks_lock_both(two_web_processes):
    first, second = two_web_processes
    email = "ada@example.com"
    User.objects.create_user(email=email, password=PASSWORD)

    owner = Browser(first)  # logged in before the attack, on the first process
    assert (
        owner.post_form("/accounts/login/", "/accounts/login/", {"username": email, "password": PASSWORD})[0]
        == 302
    )
    erase_statuses = [
        owner.post_form("/accounts/", "/accounts/delete/", {"password": WRONG})[0] for _ in range(3)
    ]
    admin = Browser(second)
    admin_statuses = [
        admin.post_form("/admin/login/", "/admin/login/", {"username": email, "password": WRONG})[0]
        for _ in range(4)
    ]
    site = Browser(first)
    site_statuses = [
        site.post_form("/accounts/login/", "/accounts/login/", {"username": email, "password": WRONG})[0]
        for _ in range(3)
    ]
    assert erase_statuses == [400] * 3 and admin_statuses == [200] * 4 and site_statuses == [200, 200, 429]

    for base, page in ((second, "/accounts/login/"), (first, "/admin/login/")):
        status, headers, html = Browser(base).post_form(page, page, {"username": email, "password": PASSWORD})
        assert status == 429 and int(headers["Retry-After"]) > 0, (base, page, status)
        assert "Too many wrong passwords" in html
    assert User.objects.filter(
        email=email
    ).exists()  # the wrong "delete my account" passwords deleted nothing
