"""The landing page's wall: one celebrity per rotation, columns that loop, cached images under immutable
URLs."""

import random
import re

import pytest

from apps.photowall import services
from apps.photowall.selectors import MIN_PER_COLUMN, wall_for_page
from tests.guests import start_guest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_celebrities(png_bytes):
    for name, count in (("Ada Lovelace", 7), ("Grace Hopper", 3)):
        celebrity = services.celebrity_get_or_create(name)
        for i in range(count):
            services.photo_create(
                image_bytes=png_bytes(color=(i * 30, 90, 120)),
                celebrity=celebrity,
                keywords=[f"look {i}", "calm"],
            )


def test_one_celebrity_per_page_dealt_into_full_columns(two_celebrities):
    wall = next(
        w for seed in range(20) if (w := wall_for_page(rng=random.Random(seed))).celebrity == "Ada Lovelace"
    )
    assert len(wall.columns) == 5 and all(len(column) >= MIN_PER_COLUMN for column in wall.columns)
    assert {photo["celebrity"] for column in wall.columns for photo in column} == {wall.celebrity}
    firsts = [column[0]["id"] for column in wall.columns]
    assert len(set(firsts)) > 1  # the columns do not all start alike
    if wall.celebrity == "Ada Lovelace":  # 7 photos, 4 a column: no photo twice in one column
        assert all(len({photo["id"] for photo in column}) == len(column) for column in wall.columns)
    seen = {wall_for_page(rng=random.Random(seed)).celebrity for seed in range(12)}
    assert seen == {"Ada Lovelace", "Grace Hopper"}  # random per load


def test_an_empty_wall_renders_the_page_without_it(client):
    page = client.get("/")
    assert (
        page.status_code == 200
        and b'class="wall"' not in page.content
        and b'id="create-form"' in page.content
    )


def test_the_page_repeats_each_column_for_a_seamless_loop_in_alternate_directions(client, two_celebrities):
    html = client.get("/").content.decode()
    tracks = re.findall(r'<ul class="wall-track (up|down)" data-items="(\d+)">(.*?)</ul>', html, re.S)
    assert [direction for direction, _, _ in tracks] == ["up", "down", "up", "down", "up"]
    for _, items, body in tracks:
        sources = re.findall(r'<img src="([^"]+)"', body)
        assert len(sources) == 2 * int(items) and sources[: int(items)] == sources[int(items) :]
        assert body.count('aria-hidden="true"') == int(items)  # the copy is hidden from screen readers
    images = [img for img in re.findall(r"<img [^>]*>", html) if "/wall/" in img]
    assert all('decoding="async"' in img for img in images)
    assert all(re.search(r'width="\d+"', img) and re.search(r'height="\d+"', img) for img in images)
    # The top photo of the two columns every screen shows loads at once, the very first with high
    # priority (the LCP image on wide screens, found in the HTML by the preload scanner); the rest wait
    # until they come near the viewport.
    for index, (_, _, body) in enumerate(tracks):
        column = re.findall(r"<img [^>]*>", body)
        assert ('loading="eager"' in column[0]) == (index < 2)
        assert ('fetchpriority="high"' in column[0]) == (index == 0)
        assert all('loading="lazy"' in img and "fetchpriority" not in img for img in column[1:])


def test_wall_images_come_from_the_cache_under_immutable_urls(client, two_celebrities):
    html = client.get("/").content.decode()
    url = re.search(r'<img src="(/wall/[^"]+)"', html).group(1)
    photo_id, version, name = re.fullmatch(r"/wall/(\d+)/([0-9a-f]+)/([a-z0-9-]+)\.jpg", url).groups()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{version}"'  # the URL names this version of the image
    again = client.get(url, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and not again.content
    assert client.get(url.replace(".jpg", "-x.jpg")).status_code == 404
    assert client.get(url.replace(version, "0" * len(version))).status_code == 404  # not this version
    assert client.post(url).status_code == 405

    # The lasting name (links shared before) still answers, with a daily revalidation.
    lasting = client.get(f"/wall/{photo_id}/{name}.jpg")
    assert lasting.status_code == 200 and lasting.content == response.content
    assert "max-age=86400" in lasting["Cache-Control"] and "immutable" not in lasting["Cache-Control"]


def test_reduced_motion_and_responsive_columns_are_in_the_stylesheet():
    from django.contrib.staticfiles import finders

    css = open(finders.find("narcis/landing.css")).read()
    assert "@media (prefers-reduced-motion: reduce) { .wall-track { animation: none; }" in css
    assert "repeat(2, minmax(0, 1fr))" in css and "repeat(5, minmax(0, 1fr))" in css


def test_captions_carry_the_mecene_keywords(client, two_celebrities):
    html = client.get("/").content.decode()
    assert re.search(r"<figcaption>look \d, calm</figcaption>", html)


def test_the_sign_up_nudge_and_the_token_count_are_left_to_the_visitors_browser(client):
    """The shared page holds them empty and hidden; account.js fills them from /api/me (the browser
    test shows it), which says how many tokens this visitor has left."""
    from apps.sessions_tokens import services as tokens

    page = client.get("/").content.decode()
    assert '<p class="signup-nudge" id="signup-nudge" hidden>' in page and 'id="balance"></span>' in page
    guest = start_guest(client)
    for i in range(4):
        tokens.spend(owner=guest, amount=1, reference=f"test:{i}")
    assert client.get("/").content.decode() == page
    assert client.get("/api/me").json()["balance"] == 1
