import io

import pytest
import skimage.data
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens.models import LedgerEntry

pytestmark = pytest.mark.django_db


def image_bytes(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


ASTRONAUT = image_bytes(Image.fromarray(skimage.data.astronaut()))


def submit(
    client, data: bytes = ASTRONAUT, name: str = "me.jpg", idea: str = "corporate confidence", **headers
):
    face = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post("/api/generations", {"idea": idea, "face": face}, headers=headers)


def balance(client) -> int:
    return client.get("/api/me").json()["balance"]


def test_submit_queues_a_job_for_one_token(client):
    response = submit(client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["status"] == "queued" and body["idea"] == "corporate confidence" and body["queue_position"] == 0
    )
    assert balance(client) == 4
    detail = client.get(f"/api/generations/{body['id']}").json()
    assert detail["id"] == body["id"] and detail["progress"]["percent"] == 0
    assert [job["id"] for job in client.get("/api/generations").json()] == [body["id"]]


@pytest.mark.parametrize(
    "data,name,idea,status,code",
    [
        (b"GIF89a" + b"\0" * 64, "me.jpg", "calm", 400, "unsupported_type"),
        (ASTRONAUT[:3000], "me.jpg", "calm", 400, "unreadable_image"),
        (b"", "me.jpg", "calm", 400, "empty_file"),
        (image_bytes(Image.new("RGB", (1, 1)), "PNG"), "dot.png", "calm", 400, "image_too_small"),
        (image_bytes(Image.new("L", (20000, 20000)), "PNG"), "huge.png", "calm", 400, "image_too_large"),
        (b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "big.jpg", "calm", 413, "file_too_large"),
        (
            ASTRONAUT,
            "me.jpg",
            "one two three four five six seven eight nine ten eleven twelve",
            400,
            "idea_too_long",
        ),
        (ASTRONAUT, "me.jpg", "<script>alert</script>", 400, "idea_invalid"),
    ],
)
def test_every_malformed_submission_is_refused_with_its_code_and_costs_nothing(
    client, data, name, idea, status, code
):
    response = submit(client, data, name, idea)
    assert response.status_code == status and response.json()["code"] == code
    assert response.json()["message"]
    assert GenerationJob.objects.count() == 0 and not LedgerEntry.objects.filter(reason="spend").exists()
    assert balance(client) == 5


def test_no_tokens_is_402_and_no_row(client, settings):
    settings.GENERATIONS_MAX_QUEUED = 10
    settings.GENERATIONS_PER_MINUTE = 10
    for _ in range(5):
        assert submit(client).status_code == 201
    response = submit(client)
    assert response.status_code == 402 and response.json()["code"] == "no_tokens"
    assert GenerationJob.objects.count() == 5


def test_too_many_queued_is_429(client):
    assert submit(client).status_code == 201 and submit(client).status_code == 201
    response = submit(client)
    assert response.status_code == 429 and response.json()["code"] == "too_many_queued"
    assert balance(client) == 3


def test_the_idempotency_key_returns_the_same_job(client):
    first = submit(client, **{"Idempotency-Key": "k1"}).json()
    again = submit(client, **{"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json()["id"] == first["id"] and balance(client) == 4


def test_another_visitor_cannot_see_or_cancel_a_job(client):
    job_id = submit(client).json()["id"]
    stranger = Client()
    assert stranger.get(f"/api/generations/{job_id}").status_code == 404
    assert stranger.post(f"/api/generations/{job_id}/cancel").status_code == 404
    assert stranger.get("/api/generations/not-a-uuid").status_code == 404
    assert GenerationJob.objects.get().status == JobStatus.QUEUED


def test_cancel_a_queued_job_refunds_at_once(client):
    job_id = submit(client).json()["id"]
    response = client.post(f"/api/generations/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert balance(client) == 5


def test_only_staff_may_set_parameters(client):
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    response = client.post("/api/generations", {"idea": "calm", "face": face, "params": '{"steps": 4}'})
    assert response.status_code == 403 and response.json()["code"] == "params_staff_only"
    assert balance(client) == 5


def test_a_post_without_the_csrf_token_is_refused(db):
    strict = Client(enforce_csrf_checks=True)
    response = submit(strict)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert GenerationJob.objects.count() == 0


def test_more_than_n_a_minute_is_429_rate_limited(client, settings):
    settings.GENERATIONS_PER_MINUTE = 1
    settings.GENERATIONS_MAX_QUEUED = 10
    assert submit(client).status_code == 201
    response = submit(client)
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert balance(client) == 4 and GenerationJob.objects.count() == 1


def test_the_list_is_paginated_newest_first(client, settings):
    settings.GENERATIONS_PER_MINUTE = settings.GENERATIONS_MAX_QUEUED = 10
    ids = [submit(client, idea=f"calm {word}").json()["id"] for word in ("one", "two", "three")]
    first_page = client.get("/api/generations", {"page": 1, "page_size": 2}).json()
    second_page = client.get("/api/generations", {"page": 2, "page_size": 2}).json()
    assert [job["id"] for job in first_page + second_page] == ids[::-1]


def test_the_eta_comes_from_recent_throughput(client):
    import datetime as dt

    from django.utils import timezone

    job_id = submit(client).json()["id"]
    assert client.get(f"/api/generations/{job_id}").json()["eta_seconds"] is None  # nothing finished yet
    now = timezone.now()
    done = GenerationJob.objects.create(
        user=None,
        guest_session=GenerationJob.objects.get(id=job_id).guest_session,
        idea="x",
        batch_key="k",
        status=JobStatus.SUCCEEDED,
        started_at=now - dt.timedelta(seconds=12),
        finished_at=now,
    )
    assert done.pk and client.get(f"/api/generations/{job_id}").json()["eta_seconds"] == 12.0


def test_staff_see_any_job(client, staff_user):
    job_id = submit(client).json()["id"]
    staff = Client()
    staff.force_login(staff_user)
    assert staff.get(f"/api/generations/{job_id}").json()["id"] == job_id


def submit_as_staff(client, staff_user, params: str):
    from apps.sessions_tokens import services as tokens

    tokens.grant(owner=staff_user, amount=1, actor=staff_user, reason="parameter test")
    client.force_login(staff_user)
    face = SimpleUploadedFile("me.jpg", ASTRONAUT, content_type="image/jpeg")
    return client.post("/api/generations", {"idea": "calm", "face": face, "params": params})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ('{"steps": 30.5}', "steps"),
        ('{"guidance_scale": "7"}', "guidance_scale"),
        ('{"adaptive_guidance": "yes"}', "adaptive_guidance"),
        ('{"steps": 20, "start_merge_step": 21}', "start_merge_step"),
        ('{"sampler": "dpm++"}', "sampler"),
        ('{"seed": -3}', "seed"),
    ],
)
def test_each_parameter_rule_is_a_400_naming_the_field_with_no_token_and_no_row(
    client, staff_user, params, field
):
    response = submit_as_staff(client, staff_user, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_params" and body["field"] == field and body["message"].startswith(field)
    assert GenerationJob.objects.count() == 0 and balance(client) == 1


@pytest.mark.parametrize("params", ["[1, 2]", "{steps: 4}", '"steps"'])
def test_params_that_are_not_a_json_object_are_refused(client, staff_user, params):
    response = submit_as_staff(client, staff_user, params)
    assert response.status_code == 400 and response.json()["code"] == "invalid_params"
    assert GenerationJob.objects.count() == 0 and balance(client) == 1


def test_a_staff_job_stores_every_parameter_resolved(client, staff_user):
    response = submit_as_staff(client, staff_user, '{"seed": 42, "guidance_scale": 7}')
    assert response.status_code == 201, response.content
    job = GenerationJob.objects.get()
    assert job.params["seed"] == 42 and job.params["guidance_scale"] == 7.0
    assert job.params["steps"] == 3  # the models' default (tests/apps/generation/conftest.py) filled in
    assert job.priority == 10


def test_a_visitors_job_gets_its_own_seed_stored(client):
    job_id = submit(client).json()["id"]
    job = GenerationJob.objects.get(id=job_id)
    assert isinstance(job.params["seed"], int) and job.params["width"] == 64


def test_the_openapi_document_describes_params_as_the_catalogue_object(client):
    from inference.params import SPECS

    operation = client.get("/api/openapi.json").json()["paths"]["/api/generations"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]
    [params] = body["schema"]["properties"]["params"]["anyOf"]
    assert params["type"] == "object" and params["additionalProperties"] is False
    assert set(params["properties"]) == set(SPECS)
    assert (
        params["properties"]["steps"]["maximum"] == 150 and params["properties"]["width"]["multipleOf"] == 8
    )
    assert body["encoding"]["params"]["contentType"] == "application/json"
    fields = {"idea", "face", "extra_faces", "wall_consent", "params", "concept_seed", "webhook_url"}
    assert set(body["schema"]["properties"]) == fields
    extra = body["schema"]["properties"]["extra_faces"]
    assert extra["type"] == "array" and extra["maxItems"] == 3 and extra["items"]["format"] == "binary"
    consent = body["schema"]["properties"]["wall_consent"]
    assert consent["type"] == "boolean" and consent["default"] is False
    idea = body["schema"]["properties"]["idea"]
    assert idea["maxLength"] == 60 and idea["pattern"].startswith("^")
    seed = body["schema"]["properties"]["concept_seed"]
    assert (seed["minimum"], seed["maximum"]) == (0, 2**31 - 1)
    for status in ("400", "402", "403", "413", "422", "429"):
        error = operation["responses"][status]["content"]["application/json"]["schema"]
        assert error["$ref"].endswith("/ErrorOut")
