"""The API side of a visitor's portraits: extra photos and consent at submit, then consent, paint again
and delete on /api/generations/{id}. Only the owner; every refusal has its code and costs nothing."""

import io

import numpy as np
import pytest
import skimage.data
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.generation.models import ExtraFace, GenerationJob, JobStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]


def jpeg(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


ASTRONAUT = jpeg(skimage.data.astronaut())
MIRRORED = jpeg(skimage.data.astronaut()[:, ::-1].copy())
BLANK = jpeg(np.full((256, 256, 3), 128, dtype=np.uint8))


def upload(data: bytes, name: str = "me.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def submit(client, *extras: bytes, **fields):
    data = {"idea": "calm", "face": upload(ASTRONAUT), **fields}
    if extras:
        data["extra_faces"] = [upload(extra, f"more{n}.jpg") for n, extra in enumerate(extras)]
    return client.post("/api/generations", data)


def balance(client) -> int:
    return client.get("/api/me").json()["balance"]


def test_a_portrait_from_three_photos_with_consent(client, settings):
    response = submit(client, MIRRORED, MIRRORED, wall_consent="true")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["photos"] == 3 and body["wall_consent"] is True and body["keywords"] == ["calm"]
    job = GenerationJob.objects.get()
    assert job.wall_consent and ExtraFace.objects.filter(job=job).count() == 2
    assert submit(client).json()["wall_consent"] is False  # off unless asked


@pytest.mark.parametrize(
    "extras, code, message",
    [
        ([MIRRORED] * 4, "too_many_faces", "at most 3 more photos"),
        ([MIRRORED, BLANK], "no_face", "Photo 3: We could not find a face"),
        ([b"GIF89a not a photo"], "unsupported_type", "Photo 2: Please upload a JPEG"),
    ],
)
def test_a_bad_extra_photo_is_refused_by_name_and_costs_nothing(client, settings, extras, code, message):
    response = submit(client, *extras)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == (code, "extra_faces") and message in body["message"]
    assert balance(client) == 5 and not GenerationJob.objects.exists()
    assert not (settings.MEDIA_ROOT / "faces").exists() or not any((settings.MEDIA_ROOT / "faces").iterdir())


def test_consent_is_the_owners_to_give_and_withdraw(client, staff_user):
    job_id = submit(client).json()["id"]
    url = f"/api/generations/{job_id}/consent"
    assert client.post(url, {"consent": True}, content_type="application/json").json()["wall_consent"] is True
    assert (
        client.post(url, {"consent": False}, content_type="application/json").json()["wall_consent"] is False
    )
    stranger = Client()
    assert stranger.post(url, {"consent": True}, content_type="application/json").status_code == 404
    stranger.force_login(staff_user)  # staff see every job, but consent is not theirs to give
    assert stranger.post(url, {"consent": True}, content_type="application/json").status_code == 404
    assert client.post(url, {"consent": "true"}).status_code == 415  # a form where JSON is expected
    assert GenerationJob.objects.get().wall_consent is False


def test_delete_is_refused_while_queued_then_removes_the_portrait_from_every_view(client, settings):
    job_id = submit(client, MIRRORED).json()["id"]
    assert client.delete(f"/api/generations/{job_id}").json()["code"] == "still_painting"
    assert Client().delete(f"/api/generations/{job_id}").status_code == 404
    client.post(f"/api/generations/{job_id}/cancel")

    assert client.delete(f"/api/generations/{job_id}").status_code == 204

    assert client.get(f"/api/generations/{job_id}").status_code == 404
    assert client.get("/api/generations").json() == []
    assert client.delete(f"/api/generations/{job_id}").status_code == 404
    assert not any((settings.MEDIA_ROOT / "faces").iterdir())
    assert balance(client) == 5  # the canceled job's token came back; deleting moves none


def test_paint_again_is_a_new_job_for_one_token(client, settings):
    job_id = submit(client, MIRRORED).json()["id"]
    GenerationJob.objects.filter(pk=job_id).update(status=JobStatus.SUCCEEDED)
    response = client.post(f"/api/generations/{job_id}/again", headers={"Idempotency-Key": "again-1"})
    assert response.status_code == 201 and response.json()["photos"] == 2
    assert (
        client.post(f"/api/generations/{job_id}/again", headers={"Idempotency-Key": "again-1"}).json()["id"]
        == response.json()["id"]
    )
    assert balance(client) == 3
    assert Client().post(f"/api/generations/{job_id}/again").status_code == 404
    settings.TOKEN_COUNT_FOR_GUESTS = 0
    for _ in range(3):
        client.post(f"/api/generations/{job_id}/again")
    assert client.post(f"/api/generations/{job_id}/again").json()["code"] == "no_tokens"
