"""The landing page's wall: one celebrity per load, columns that loop, cached images with ETags."""

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
    images = re.findall(r"<img [^>]*>", html)
    assert all('loading="lazy"' in img and 'decoding="async"' in img for img in images if "/wall/" in img)
    assert all(
        re.search(r'width="\d+"', img) and re.search(r'height="\d+"', img)
        for img in images
        if "/wall/" in img
    )
    assert "csrftoken" in client.cookies  # the create flow posts with it


def test_wall_images_come_from_the_cache_with_etag_and_cache_control(client, two_celebrities):
    html = client.get("/").content.decode()
    url = re.search(r'<img src="(/wall/[^"]+)"', html).group(1)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "max-age=86400" in response["Cache-Control"] and "public" in response["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and not again.content
    assert client.get(url.replace(".jpg", "-x.jpg")).status_code == 404
    assert client.post(url).status_code == 405


def test_reduced_motion_and_responsive_columns_are_in_the_stylesheet():
    from django.contrib.staticfiles import finders

    css = open(finders.find("narcis/landing.css")).read()
    assert "@media (prefers-reduced-motion: reduce) { .wall-track { animation: none; }" in css
    assert "repeat(2, minmax(0, 1fr))" in css and "repeat(5, minmax(0, 1fr))" in css


def test_captions_carry_the_mecene_keywords(client, two_celebrities):
    html = client.get("/").content.decode()
    assert re.search(r"<figcaption>look \d, calm</figcaption>", html)


def test_a_guest_running_low_is_asked_to_sign_up(client):
    from apps.sessions_tokens import services as tokens

    page = client.get("/").content.decode()
    assert re.search(r'<p class="signup-nudge" id="signup-nudge" hidden>', page)  # 5 tokens: no nudge
    guest = start_guest(client)
    for i in range(4):
        tokens.spend(owner=guest, amount=1, reference=f"test:{i}")
    page = client.get("/").content.decode()
    assert re.search(r'<p class="signup-nudge" id="signup-nudge">', page) and "to keep them" in page
