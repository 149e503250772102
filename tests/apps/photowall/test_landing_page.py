"""The landing page is one cached copy for every visitor: the same bytes and ETag whoever asks, nothing of
theirs inside, no database query once warm, revalidated by ETag, renewed when the wall changes or
rotates; and it carries what a search engine and a share preview read."""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache as django_cache

from apps.photowall import page, services
from apps.photowall.models import Photo
from apps.sessions_tokens import services as tokens
from tests.guests import start_guest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wall(png_bytes):
    celebrity = services.celebrity_get_or_create("Ada Lovelace")
    for i in range(5):
        services.photo_create(
            image_bytes=png_bytes(color=(i * 40, 90, 120)),
            celebrity=celebrity,
            keywords=[f"look {i}", "calm"],
        )


@pytest.fixture
def visitors(client_factory, make_user, staff_user):
    """A first-time visitor, a guest who spent tokens, and a signed-in member, each with the CSRF
    cookie /api/me gives them."""
    newcomer, guest_client, member = client_factory(), client_factory(), client_factory()
    guest = start_guest(guest_client)
    tokens.spend(owner=guest, amount=2, reference="test:spent")
    user = make_user(email="ada@example.com")
    tokens.grant(owner=user, amount=7, actor=staff_user, reason="welcome")
    member.force_login(user)
    for visitor in (newcomer, guest_client, member):
        assert visitor.get("/api/me").status_code == 200 and visitor.cookies["csrftoken"].value
    return newcomer, guest_client, member


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


def test_every_visitor_gets_the_same_bytes_and_nothing_of_theirs(visitors, wall):
    responses = [visitor.get("/") for visitor in visitors]
    bodies = {response.content for response in responses}
    assert len(bodies) == 1 and len({response["ETag"] for response in responses}) == 1
    html = bodies.pop().decode()
    for visitor, response in zip(visitors, responses, strict=True):
        assert response.status_code == 200 and not response.cookies  # no Set-Cookie on a shared page
        assert "Cookie" not in response.get("Vary", "")  # a shared cache keeps one copy, not one per visitor
        assert visitor.cookies["csrftoken"].value not in html
        session = visitor.cookies.get("sessionid")
        assert session is None or session.value not in html
    assert "ada@example.com" not in html and "data-balance" not in html
    assert re.search(r'name="csrfmiddlewaretoken" value=""', html)  # account.js fills it on submit
    assert not re.search(r"\b[57] tokens?\b", html)


def test_a_warm_page_costs_no_database_query(client, wall, django_assert_num_queries):
    client.get("/")  # renders and stores it
    guest = start_guest(client)
    tokens.spend(owner=guest, amount=1, reference="test:spent")
    with django_assert_num_queries(0):
        assert client.get("/").status_code == 200


def test_the_etag_answers_a_revalidation_with_304(client, wall):
    first = client.get("/")
    assert first["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert re.fullmatch(r'"[0-9a-f]{32}"', first["ETag"])  # strong
    for header in (first["ETag"], f"W/{first['ETag']}", f'"other", {first["ETag"]}'):
        again = client.get("/", headers={"If-None-Match": header})
        assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.head("/").status_code == 200 and client.post("/").status_code == 405


def test_a_browser_that_accepts_gzip_gets_the_copy_compressed_once(client, wall):
    plain = client.get("/")
    packed = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed["Content-Encoding"] == "gzip" and gzip.decompress(packed.content) == plain.content
    assert len(packed.content) * 4 < len(plain.content) and packed["Content-Length"] == str(
        len(packed.content)
    )
    assert packed["ETag"] != plain["ETag"]  # two representations, two strong validators
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    again = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]})
    assert again.status_code == 304


def test_the_page_follows_the_wall_when_staff_publish_and_unpublish(client, wall, png_bytes):
    before = client.get("/")
    newcomer = services.photo_create(
        image_bytes=png_bytes(color=(250, 250, 10)),
        celebrity=Photo.objects.first().celebrity,
        keywords=["new"],
    )
    after = client.get("/")
    assert (
        after["ETag"] != before["ETag"] and f"/wall/{newcomer.pk}/{newcomer.etag}/" in after.content.decode()
    )
    assert client.get("/", headers={"If-None-Match": before["ETag"]}).status_code == 200

    services.photos_set_published(Photo.objects.filter(pk=newcomer.pk), False)
    assert f"/wall/{newcomer.pk}/" not in client.get("/").content.decode()


def test_one_render_per_rotation_shared_by_every_task(client, wall, monkeypatch):
    renders = []
    real_render = page.render
    monkeypatch.setattr(page, "render", lambda origin, **extra: renders.append(origin) or real_render(origin))
    now = [1_000]
    monkeypatch.setattr(page, "rotation", lambda: now[0])
    first = {client.get("/")["ETag"] for _ in range(3)}
    assert len(renders) == 1 and len(first) == 1
    now[0] += 1  # the next rotation draws its wall again
    client.get("/")
    assert len(renders) == 2

    # Another task stored this rotation's page first: this one serves theirs, not its own draw.
    now[0] += 1
    theirs = page.Page(b"<!doctype html><title>theirs</title>", '"theirs"')
    original_add = django_cache.add

    def lose_the_race(key, value, *args, **kwargs):
        if key.startswith("photowall:page:"):
            django_cache.set(key, {**value, "page": theirs}, *args, **kwargs)
            return False
        return original_add(key, value, *args, **kwargs)

    monkeypatch.setattr(page.cache, "add", lose_the_race)
    response = client.get("/")
    assert response.content == theirs.html and response["ETag"] == '"theirs"'


def test_each_host_gets_its_own_copy_with_its_own_absolute_urls(client, wall, settings):
    settings.ALLOWED_HOSTS = ["testserver", "narcis.example"]
    here = client.get("/").content.decode()
    there = client.get("/", headers={"Host": "narcis.example"}, secure=True).content.decode()
    assert 'property="og:url" content="http://testserver/"' in here
    assert 'property="og:url" content="https://narcis.example/"' in there and "testserver" not in there
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400  # never rendered for it


def test_the_message_a_redirect_left_is_shown_to_that_visitor_alone(client, wall):
    shared = client.get("/")
    start_guest(client)
    landed = client.post("/accounts/forget/", follow=True)
    assert "Forgotten: your portraits" in landed.content.decode()
    assert "no-store" in landed["Cache-Control"] and "private" in landed["Cache-Control"]
    assert not landed.has_header("ETag")
    back = client.get("/")  # the message was shown once; the shared copy again
    assert back["ETag"] == shared["ETag"] and "Forgotten" not in back.content.decode()


def test_the_page_runs_under_the_strict_policy(client, wall):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script: no nonce to cache
    assert " style=" not in html  # no inline style attribute (style-src has no 'unsafe-inline')
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers either
    assert client.get("/", headers={"If-None-Match": response["ETag"]})["Content-Security-Policy"] == policy


def test_search_engines_and_share_previews_find_what_they_read(client, wall):
    html = client.get("/").content.decode()
    meta = dict(re.findall(r'<meta (?:name|property)="([^"]+)" content="([^"]*)"', html))
    assert meta["description"].startswith("Upload a selfie") and meta["og:description"] == meta["description"]
    assert meta["og:title"] and meta["twitter:card"] == "summary_large_image"
    image = meta["og:image"]
    assert image.startswith("http://testserver/wall/") and meta["og:image:alt"].startswith("Ada Lovelace: ")
    fetched = client.get(image.removeprefix("http://testserver"))
    assert fetched.status_code == 200 and fetched["Content-Type"] == "image/jpeg"
    assert '<link rel="canonical" href="http://testserver/">' in html

    icon = re.search(r'<link rel="icon" href="/static/([^"]+)" type="image/svg\+xml">', html).group(1)
    assert finders.find(icon)  # the browser's icon request finds a file: no 404 on the console
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots["Content-Type"].startswith("text/plain")
    assert "User-agent: *" in robots.content.decode()


def test_an_empty_wall_previews_without_an_image(client):
    html = client.get("/").content.decode()
    assert 'name="twitter:card" content="summary"' in html and "og:image" not in html
