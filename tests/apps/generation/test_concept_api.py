"""GET /api/mecene: the live preview of the concept, throttled; its seed paints that very concept."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.generation.models import GenerationJob
from tests.apps.generation.test_api import ASTRONAUT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_a_preview_is_the_whole_concept_and_its_seed_reproduces_it(client):
    first = client.get("/api/mecene", {"idea": "Corporate  Confidence", "seed": 42})
    assert first.status_code == 200, first.content
    concept = first.json()
    assert concept["words"] == "corporate confidence" and concept["seed"] == 42
    assert (
        concept["engine"] == "offline"
        and 10 <= len(concept["chosen"]) <= 15
        and len(concept["keywords"]) == 8
    )
    assert (len(concept["chosen"]) < 15) == bool(concept["notes"])  # fewer than 15 says why
    assert concept["prompt"].startswith("portrait of a person img, corporate confidence, ")
    assert client.get("/api/mecene", {"idea": "corporate confidence", "seed": 42}).json() == concept


def test_without_a_seed_a_fresh_one_is_drawn(client):
    seeds = {client.get("/api/mecene", {"idea": "ocean dreamer"}).json()["seed"] for _ in range(3)}
    assert len(seeds) > 1


@pytest.mark.parametrize(
    "query, code",
    [
        ({"idea": "one two three four five six"}, "idea_too_long"),
        ({"idea": "<script>x</script>"}, "idea_invalid"),
        ({"idea": "calm", "seed": -1}, "invalid_seed"),
    ],
)
def test_bad_previews_get_their_code(client, query, code):
    response = client.get("/api/mecene", query)
    assert response.status_code == 400 and response.json()["code"] == code


def test_previews_are_throttled_per_visitor(client):
    statuses = [client.get("/api/mecene", {"idea": "calm", "seed": 1}).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    refused = client.get("/api/mecene", {"idea": "calm", "seed": 1})
    assert refused.json()["code"] == "rate_limited" and int(refused["Retry-After"]) >= 1


def test_the_submitted_concept_seed_is_kept_on_the_job(client):
    client.get("/api/me")
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    response = client.post("/api/generations", {"idea": "calm", "face": face, "concept_seed": "77"})
    assert response.status_code == 201, response.content
    assert GenerationJob.objects.get().concept_seed == 77
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    bad = client.post("/api/generations", {"idea": "calm", "face": face, "concept_seed": "-5"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_seed"
    assert GenerationJob.objects.count() == 1


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle():
    from django.test import Client

    anonymous = Client()  # no cookie: keyed on the address, not on what the client writes
    statuses = [
        anonymous.get(
            "/api/mecene", {"idea": "calm", "seed": 1}, headers={"x-forwarded-for": f"10.0.0.{i}"}
        ).status_code
        for i in range(31)
    ]
    assert statuses[-1] == 429


def test_the_previewed_concept_is_kept_for_the_worker(client):
    from apps.generation import concepts

    shown = client.get("/api/mecene", {"idea": "ocean dreamer", "seed": 9}).json()
    kept = concepts.previewed("ocean dreamer", 9)
    assert kept is not None and kept.prompt == shown["prompt"] and kept.chosen == shown["chosen"]


def test_new_guest_cookies_do_not_escape_the_address_throttle():
    """A script that starts a guest session for every preview is still held to 60 a minute per address."""
    from django.test import Client

    from tests.guests import start_guest

    statuses = []
    for _ in range(61):
        visitor = Client()
        start_guest(visitor)  # a session of its own each time: the per-visitor throttle never fills
        statuses.append(visitor.get("/api/mecene", {"idea": "calm", "seed": 1}).status_code)
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    assert Client(REMOTE_ADDR="10.9.8.7").get("/api/mecene", {"idea": "calm", "seed": 1}).status_code == 200
