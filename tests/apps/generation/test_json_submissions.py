"""POST /api/generations in JSON beside the form (issue 33, item 1): photos as data: URIs or as ids of
POST /api/uploads; one schema in the OpenAPI document; the three ways make equal jobs; uploads are
checked like submitted photos, bound to their owner, used once and deleted when used or expired."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import numpy as np
import pytest
import skimage.data
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from apps.generation.models import GenerationJob, PhotoUpload
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as tokens
from tests.apps.generation.test_api import ASTRONAUT, image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]
PARAMS = {"seed": 7, "steps": 4, "guidance_scale": 6.5}
# A second photo of "the same person": the astronaut, mirrored (a face still found).
MIRRORED = image_bytes(Image.fromarray(np.ascontiguousarray(skimage.data.astronaut()[:, ::-1])))


def data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def photo(data: bytes = ASTRONAUT) -> SimpleUploadedFile:
    return SimpleUploadedFile("me.jpg", data, content_type="image/jpeg")


def upload(client, data: bytes = ASTRONAUT):
    return client.post("/api/uploads", {"photo": photo(data)})


def post_json(client, body: dict):
    return client.post("/api/generations", json.dumps(body), content_type="application/json")


@pytest.fixture
def staff(staff_user):
    tokens.grant(owner=staff_user, amount=10, actor=staff_user, reason="json")
    client = Client()
    client.force_login(staff_user)
    return client


def job_as_stored(job_id: str) -> dict:
    job = GenerationJob.objects.get(pk=job_id)
    photos = [job.face_image, *(extra.image for extra in job.extra_faces.all())]
    contents = []
    for stored in photos:
        with stored.open("rb") as handle:
            contents.append(handle.read())
    return {
        "idea": job.idea,
        "params": job.params,
        "batch_key": job.batch_key,
        "priority": job.priority,
        "concept_seed": job.concept_seed,
        "wall_consent": job.wall_consent,
        "photos": contents,
    }


def test_json_with_data_uris_json_with_uploads_and_the_form_make_equal_jobs(
    staff, django_capture_on_commit_callbacks
):
    common = {"idea": "Corporate  Confidence", "concept_seed": 1234, "wall_consent": True}
    form = staff.post(
        "/api/generations",
        {**common, "face": photo(), "extra_faces": [photo(MIRRORED)], "params": json.dumps(PARAMS)},
    )
    inline = post_json(
        staff, {**common, "face": data_uri(ASTRONAUT), "extra_faces": [data_uri(MIRRORED)], "params": PARAMS}
    )
    ids = [upload(staff).json()["id"], upload(staff, MIRRORED).json()["id"]]
    with django_capture_on_commit_callbacks(execute=True):  # the uploads go once the job committed
        by_id = post_json(staff, {**common, "face": ids[0], "extra_faces": [ids[1]], "params": PARAMS})
    assert [r.status_code for r in (form, inline, by_id)] == [201, 201, 201], by_id.content
    stored = [job_as_stored(r.json()["id"]) for r in (form, inline, by_id)]
    assert stored[0] == stored[1] == stored[2]
    assert stored[0]["idea"] == "corporate confidence" and len(stored[0]["photos"]) == 2
    assert stored[0]["params"]["guidance_scale"] == 6.5 and stored[0]["params"]["seed"] == 7
    assert token_selectors.balance_of(GenerationJob.objects.get(pk=form.json()["id"]).user) == 10 - 3
    assert not PhotoUpload.objects.exists() and uploaded_files() == []  # used: gone, rows and files


def uploaded_files() -> list[str]:
    storage = PhotoUpload._meta.get_field("image").storage
    return storage.listdir("uploads")[1] if storage.exists("uploads") else []


def test_an_upload_is_checked_like_a_submitted_photo(client):
    assert upload(client).status_code == 201
    not_an_image = client.post("/api/uploads", {"photo": SimpleUploadedFile("a.jpg", b"GIF89a....")})
    assert not_an_image.status_code == 400 and not_an_image.json()["code"] == "unsupported_type"
    blank = image_bytes(Image.new("RGB", (256, 256), (128, 128, 128)), "PNG")
    faceless = upload(client, blank)
    assert faceless.status_code == 400 and faceless.json()["code"] == "no_face"
    assert PhotoUpload.objects.count() == 1


def test_an_upload_is_its_owners_and_used_once(client, django_capture_on_commit_callbacks):
    upload_id = upload(client).json()["id"]
    stranger = Client()
    refused = post_json(stranger, {"idea": "calm", "face": upload_id})
    assert refused.status_code == 400 and refused.json() == {
        "code": "unknown_upload",
        "message": refused.json()["message"],
        "field": "face",
    }
    assert not GenerationJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(client, {"idea": "calm", "face": upload_id}).status_code == 201
    again = post_json(client, {"idea": "calm", "face": upload_id})
    assert again.status_code == 400 and again.json()["code"] == "unknown_upload"


def test_an_unused_upload_expires_and_is_deleted_by_the_next_upload_or_the_daily_sweep(client, settings):
    first = upload(client).json()
    expired_at = dt.datetime.fromisoformat(first["expires_at"])
    assert dt.timedelta(minutes=59) < expired_at - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=60)
    stored = PhotoUpload.objects.get(pk=first["id"]).image
    PhotoUpload.objects.update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    late = post_json(client, {"idea": "calm", "face": first["id"]})
    assert late.status_code == 400 and late.json()["code"] == "unknown_upload"
    assert upload(client).status_code == 201  # sweeps the expired one first
    assert not stored.storage.exists(stored.name) and PhotoUpload.objects.count() == 1
    PhotoUpload.objects.update(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    call_command("sweep_faces")
    assert not PhotoUpload.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"idea": "calm", "face": "data:image/jpeg;base64,@@@"}, 400, "invalid_data_uri"),
        ({"idea": "calm", "face": "data:text/html;base64,PGI+"}, 400, "invalid_data_uri"),
        ({"idea": "calm", "face": "not-an-upload"}, 400, "unknown_upload"),
        ({"idea": "calm"}, 422, "invalid_request"),
        ({"idea": "calm", "face": "x", "surprise": 1}, 422, "invalid_request"),
        ({"idea": "calm", "face": "x", "extra_faces": ["a", "b", "c", "d"]}, 422, "invalid_request"),
        ({"idea": "calm", "face": "x", "wall_consent": "maybe"}, 422, "invalid_request"),
        ({"idea": "calm", "face": data_uri(ASTRONAUT), "params": {"steps": 4}}, 403, "params_staff_only"),
        ({"idea": "calm", "face": data_uri(b"\xff\xd8\xff" + b"0" * 100)}, 400, "unreadable_image"),
        ({"idea": "1984", "face": data_uri(ASTRONAUT)}, 400, "idea_invalid"),
    ],
)
def test_every_bad_json_submission_is_a_json_4xx_with_its_code_and_costs_nothing(client, body, status, code):
    response = post_json(client, body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.content
    assert not GenerationJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("[]", "application/json", 400, "malformed_body"),
        ("{", "application/json", 400, "malformed_body"),
        ("[" * 100_000, "application/json", 400, "malformed_body"),
        ("idea=calm", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(client, body, content_type, status, code):
    response = client.post("/api/generations", body, content_type=content_type)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_staff_params_in_json_are_refused_per_field_as_in_the_form(staff):
    nested = post_json(staff, {"idea": "calm", "face": data_uri(ASTRONAUT), "params": {"steps": [4]}})
    assert nested.status_code == 400 and nested.json()["code"] == "invalid_params"
    bounded = post_json(
        staff, {"idea": "calm", "face": data_uri(ASTRONAUT), "params": {"guidance_scale": 99}}
    )
    assert bounded.status_code == 400 and bounded.json()["field"] == "guidance_scale"


def test_the_openapi_document_types_both_forms_alike(client):
    body = client.get("/api/openapi.json").json()["paths"]["/api/generations"]["post"]["requestBody"]
    form, document = (body["content"][kind]["schema"] for kind in ("multipart/form-data", "application/json"))
    assert set(form["properties"]) == set(document["properties"])
    params = document["properties"]["params"]["anyOf"][0]["properties"]
    assert (
        params["guidance_scale"] == form["properties"]["params"]["anyOf"][0]["properties"]["guidance_scale"]
    )
    assert (params["guidance_scale"]["minimum"], params["guidance_scale"]["maximum"]) == (1, 30)
    assert params["seed"]["anyOf"][0]["maximum"] == 2**31 - 1
    assert (
        form["properties"]["face"]["format"] == "binary"
        and document["properties"]["face"]["type"] == "string"
    )


def test_an_empty_photo_reference_is_an_unknown_upload(client):
    response = post_json(client, {"idea": "calm", "face": "", "extra_faces": [""]})
    assert response.status_code == 400 and response.json()["code"] == "unknown_upload"


def test_an_unpinned_seed_is_the_jobs_own_whichever_form(client):
    job_id = post_json(client, {"idea": "calm", "face": data_uri(ASTRONAUT)}).json()["id"]
    assert GenerationJob.objects.get(pk=job_id).params["seed"] == uuid.UUID(job_id).int % 2**31
