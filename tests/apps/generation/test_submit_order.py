"""A submit meets its cheap refusals before any costly work: the throttle (counting refused attempts
too), the fields, the visitor's limits and the balance all answer before a photo is decoded, and a set
of photos too large together is refused from their headers. Each test sends photos that decoding or
the face check would refuse, so the answer itself shows which check ran first."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.generation.models import GenerationJob
from apps.sessions_tokens import services as tokens
from tests.apps.generation.test_api import ASTRONAUT
from tests.guests import start_guest

pytestmark = pytest.mark.django_db

# A JPEG header that promises a photo and then stops: decoding it fails (unreadable_image).
TRUNCATED = ASTRONAUT[:3000]
# A photo with no face: the face check fails (no_face).
FACELESS = io.BytesIO()
Image.new("RGB", (256, 256), (90, 120, 200)).save(FACELESS, format="PNG")
FACELESS = FACELESS.getvalue()


def post(client, *photos: bytes, idea: str = "calm", **fields):
    face, *more = [
        SimpleUploadedFile(f"p{n}.jpg", data, content_type="image/jpeg") for n, data in enumerate(photos)
    ]
    data = {"idea": idea, "face": face, **fields}
    if more:
        data["extra_faces"] = more
    return client.post("/api/generations", data)


def emptied_guest(client):
    guest = start_guest(client)
    tokens.spend(owner=guest, amount=5, reference="test:all")
    return guest


def test_a_guest_with_no_tokens_is_refused_before_their_four_photos_are_decoded(client):
    emptied_guest(client)
    response = post(client, TRUNCATED, TRUNCATED, FACELESS, FACELESS)
    assert response.status_code == 402 and response.json()["code"] == "no_tokens"


def test_the_queued_limit_answers_before_the_face_check(client, settings):
    settings.GENERATIONS_MAX_QUEUED = 1
    assert post(client, ASTRONAUT).status_code == 201
    response = post(client, FACELESS)
    assert response.status_code == 429 and response.json()["code"] == "too_many_queued"


def test_a_visitors_params_are_refused_before_the_photo_is_decoded(client):
    start_guest(client)
    response = post(client, TRUNCATED, params='{"steps": 4}')
    assert response.status_code == 403 and response.json()["code"] == "params_staff_only"


@pytest.mark.parametrize(
    "params",
    [
        "[" * 2000 + "]" * 2000,  # deep enough for the parser's recursion
        '{"steps": ' + "[" * 600 + "]" * 600 + "}",
        '{"steps": {"value": 4}}',
        '{"guidance_scale": [5]}',
        '{"prompt": "' + "x" * 5000 + '"}',  # past the size bound
    ],
)
def test_nested_or_huge_params_are_a_400_before_any_photo_work(client, staff_user, params):
    client.force_login(staff_user)
    response = post(client, TRUNCATED, params=params)
    assert response.status_code == 400 and response.json()["code"] == "invalid_params"


def test_photos_too_large_together_are_refused_from_their_headers(client):
    start_guest(client)
    big = io.BytesIO()
    Image.new("L", (4096, 4096)).save(big, format="PNG")  # 16.8 MP; three of them pass 50 MP
    header_only = big.getvalue()[:4096]  # decoding this would fail: only its header is read
    response = post(client, header_only, header_only, header_only)
    body = response.json()
    assert response.status_code == 400 and body["code"] == "images_too_large", body
    assert "50 million" in body["message"] and not GenerationJob.objects.exists()


@pytest.fixture
def fresh_counts():
    """The throttle's counters start at zero (other tests submitted from 127.0.0.1 this minute)."""
    cache.clear()
    yield
    cache.clear()


def test_refused_attempts_count_towards_the_visitors_throttle(client, settings, fresh_counts):
    settings.SUBMITS_PER_MINUTE_PER_VISITOR = 3
    start_guest(client)
    statuses = [post(client, ASTRONAUT, idea="1234").status_code for _ in range(3)]  # refused: a bad idea
    assert statuses == [400, 400, 400]
    response = post(client, ASTRONAUT)
    assert response.status_code == 429 and response.json()["code"] == "submit_throttled"
    assert 1 <= int(response["Retry-After"]) <= 60 and not GenerationJob.objects.exists()


def test_new_cookies_do_not_escape_the_address_throttle(settings, fresh_counts):
    settings.SUBMITS_PER_MINUTE_PER_ADDRESS = 4
    statuses = [post(Client(), FACELESS).status_code for _ in range(6)]  # a fresh guest each time
    assert statuses == [400, 400, 400, 400, 429, 429]
    assert post(Client(REMOTE_ADDR="10.9.8.7"), FACELESS).status_code == 400  # another address


def test_staff_are_not_throttled(client, settings, staff_user, fresh_counts):
    settings.SUBMITS_PER_MINUTE_PER_VISITOR = settings.SUBMITS_PER_MINUTE_PER_ADDRESS = 1
    client.force_login(staff_user)
    assert [post(client, FACELESS).status_code for _ in range(3)] == [402, 402, 402]  # no tokens, never 429
