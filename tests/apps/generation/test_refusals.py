"""Every refusal of the generation API is a JSON 4xx with a stable code, spends nothing and leaves no
file behind: malformed bodies, repeated fields, bad headers, hostile paging, photos without a face."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from apps.generation.models import GenerationJob
from tests.apps.generation.test_api import ASTRONAUT, balance, image_bytes, submit
from tests.guests import start_guest

pytestmark = pytest.mark.django_db


def faces_on_disk(settings) -> list:
    folder = settings.MEDIA_ROOT / "faces"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("multipart/form-data", b"--x\r\n", 400, "malformed_body"),  # no boundary at all
        ("multipart/form-data", b"", 422, "invalid_request"),  # nothing to parse: the fields are missing
        ("multipart/form-data; boundary=", b"--x\r\n", 400, "malformed_body"),
        ("multipart/form-data; boundary=\xff\xfe", b"--x\r\n", 400, "malformed_body"),
    ],
)
def test_a_body_django_cannot_parse_is_a_json_4xx(client, content_type, body, status, code):
    response = client.generic("POST", "/api/generations", body, content_type=content_type)
    assert response.status_code == status and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    assert GenerationJob.objects.count() == 0


def test_a_boundary_that_does_not_match_the_body_is_a_json_4xx(client):
    body = b'--other\r\nContent-Disposition: form-data; name="idea"\r\n\r\ncalm\r\n--other--\r\n'
    response = client.generic(
        "POST", "/api/generations", body, content_type="multipart/form-data; boundary=expected"
    )
    assert 400 <= response.status_code < 500 and response.json()["code"]
    assert GenerationJob.objects.count() == 0


def test_two_faces_or_two_ideas_are_refused_not_the_last_taken(client, settings):
    faces = [SimpleUploadedFile(f"{n}.jpg", ASTRONAUT, content_type="image/jpeg") for n in "ab"]
    response = client.post("/api/generations", {"idea": "calm", "face": faces})
    assert response.status_code == 400 and response.json()["code"] == "repeated_field"
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    response = client.post("/api/generations", {"idea": ["calm", "bold"], "face": face})
    assert response.status_code == 400 and "one idea" in response.json()["message"]
    assert GenerationJob.objects.count() == 0 and balance(client) == 5 and faces_on_disk(settings) == []


@pytest.mark.parametrize("key", ["k" * 101, "caf\u00e9", "tab\there"])
def test_an_idempotency_key_that_cannot_be_stored_is_a_400(client, key, settings):
    response = submit(client, **{"Idempotency-Key": key})
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert GenerationJob.objects.count() == 0 and balance(client) == 5 and faces_on_disk(settings) == []


def test_a_key_of_exactly_the_column_length_works(client):
    assert submit(client, **{"Idempotency-Key": "k" * 100}).status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        {"page": "99999999999999999999"},
        {"page": "100000000000000000", "page_size": "100"},
        {"page": "-1"},
        {"page": "0"},
        {"page_size": "0"},
        {"page_size": "1000"},
        {"page": "two"},
        {"page": "1.5"},
    ],
)
def test_hostile_paging_is_a_json_422(client, query):
    response = client.get("/api/generations", query)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_a_photo_without_a_face_is_refused_before_any_token(client, settings):
    wall = image_bytes(Image.new("RGB", (400, 400), (120, 120, 120)), "PNG")
    response = submit(client, wall, "wall.png")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "no_face" and body["field"] == "face" and "front-facing face" in body["message"]
    assert GenerationJob.objects.count() == 0 and balance(client) == 5 and faces_on_disk(settings) == []


def test_a_wrong_csrf_token_says_expired_or_missing():
    strict = Client(enforce_csrf_checks=True)
    strict.get("/api/me")
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    response = strict.post(
        "/api/generations", {"idea": "calm", "face": face}, headers={"X-CSRFToken": "x" * 32}
    )
    assert response.status_code == 403 and "expired or missing; reload" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_racing_one_idempotency_key_leaves_one_job_one_spend_and_one_file(settings):
    from django.test import Client

    client = Client()
    start_guest(client)  # the visitor's session exists: their retries all carry its cookie
    settings.GENERATIONS_PER_MINUTE = settings.GENERATIONS_MAX_QUEUED = 50
    start, statuses = threading.Barrier(6), []

    def post():
        try:
            start.wait()
            statuses.append(submit(client, **{"Idempotency-Key": "same-click"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [201] * 6
    job = GenerationJob.objects.get()
    assert balance(client) == 4
    assert [path.name for path in faces_on_disk(settings)] == [job.face_image.name.split("/")[-1]]
