"""Photos sent ahead (POST /api/uploads) are used once even by two submissions at the same moment, are
never named twice in one, leave nothing behind when their owner is erased or their row goes without its
file, and a job whose stored parameters an older catalogue allowed still answers (no 5xx)."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from apps.generation import photo_uploads, services
from apps.generation.models import GenerationJob, PhotoUpload
from apps.generation.photo_uploads import PhotoSource
from apps.generation.uploads import UploadError
from apps.sessions_tokens import selectors as token_selectors
from apps.sessions_tokens import services as tokens
from tests.apps.generation.test_json_submissions import MIRRORED, post_json, upload
from tests.guests import start_guest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]


def test_two_submissions_that_read_one_upload_make_one_job(client, django_capture_on_commit_callbacks):
    """Both read the photo before either commits (as two parallel requests do); the second finds the
    upload taken inside its transaction and is refused whole: no job, no token, no stored photo."""
    upload_id = upload(client).json()["id"]
    guest = PhotoUpload.objects.get(pk=upload_id).guest_session
    balance = token_selectors.balance_of(guest)
    sources = [PhotoSource(field="face", upload_id=upload_id, data=None)]
    first = photo_uploads.submitted_photos(owner=guest, sources=sources)
    second = photo_uploads.submitted_photos(owner=guest, sources=sources)
    stored = PhotoUpload.objects.get(pk=upload_id).image
    with django_capture_on_commit_callbacks(execute=True):
        services.job_submit(owner=guest, idea="calm", face=first[0], uploads=[upload_id])
    with pytest.raises(UploadError) as refused:
        services.job_submit(owner=guest, idea="calm", face=second[0], uploads=[upload_id])
    assert refused.value.code == "unknown_upload"
    assert GenerationJob.objects.count() == 1
    assert token_selectors.balance_of(guest) == balance - 1
    assert not stored.storage.exists(stored.name)  # the used upload's file went with the commit
    faces = os.listdir(stored.storage.path("faces"))
    assert len(faces) == 1  # the refused submission's copy is gone too


def test_one_upload_named_twice_is_refused(client):
    upload_id = upload(client).json()["id"]
    refused = post_json(client, {"idea": "calm", "face": upload_id, "extra_faces": [upload_id.upper()]})
    assert refused.status_code == 400 and refused.json()["code"] == "repeated_upload"
    assert not GenerationJob.objects.exists() and PhotoUpload.objects.count() == 1


def test_an_erased_guest_leaves_no_upload_behind(client):
    upload_id = upload(client).json()["id"]
    stored = PhotoUpload.objects.get(pk=upload_id)
    tokens.guest_erase(session=stored.guest_session)
    assert not PhotoUpload.objects.exists()
    assert not stored.image.storage.exists(stored.image.name)


def test_the_daily_sweep_deletes_upload_files_no_row_names(client, settings):
    """A cascade that removes rows without their files (or a process killed between file and row)."""
    upload_id = upload(client).json()["id"]
    kept = PhotoUpload.objects.get(pk=upload_id).image
    storage = kept.storage
    old = storage.save("uploads/left-behind.png", ContentFile(b"\x89PNG"))
    fresh = storage.save("uploads/being-uploaded.png", ContentFile(b"\x89PNG"))
    two_hours_ago = time.time() - 7200
    os.utime(storage.path(old), (two_hours_ago, two_hours_ago))
    report = services.faces_sweep()
    assert old in report.uploads
    assert not storage.exists(old)
    assert storage.exists(fresh)  # younger than the grace: its row may be about to commit
    assert storage.exists(kept.name)  # named by a live upload


def test_a_job_whose_stored_parameters_the_catalogue_now_refuses_still_answers(face_file):
    client = Client()
    guest = start_guest(client)
    job = services.job_submit(owner=guest, idea="calm", face=face_file())
    GenerationJob.objects.filter(pk=job.pk).update(params={**job.params, "steps": 999})
    answer = client.get(f"/api/generations/{job.pk}")
    assert answer.status_code == 200 and answer.json()["params"] is None
    assert client.get("/api/generations").status_code == 200
    assert dt.datetime.fromisoformat(answer.json()["created_at"])


def test_photos_sent_ahead_are_bounded_together_like_photos_sent_at_once(client, monkeypatch):
    """Each upload was bounded alone; a submission naming several adds them up (MAX_TOTAL_PIXELS)."""
    from apps.generation import uploads

    monkeypatch.setattr(uploads, "MAX_TOTAL_PIXELS", 400_000)  # one 512 x 512 astronaut fits, two do not
    first, second = upload(client).json()["id"], upload(client, MIRRORED).json()["id"]
    refused = post_json(client, {"idea": "calm", "face": first, "extra_faces": [second]})
    assert refused.status_code == 400 and refused.json()["code"] == "images_too_large"
    assert not GenerationJob.objects.exists() and PhotoUpload.objects.count() == 2


def test_a_guest_who_signs_up_keeps_the_photos_they_sent_ahead(client, make_user):
    upload_id = upload(client).json()["id"]
    session = PhotoUpload.objects.get(pk=upload_id).guest_session
    user = make_user()
    tokens.link_guest_to_user(session=session, user=user)
    moved = PhotoUpload.objects.get(pk=upload_id)
    assert moved.user == user and moved.guest_session is None
