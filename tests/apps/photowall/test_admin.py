"""Curation in the admin: publish a generation (with its SEO name and caption), unpublish, delete."""

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from apps.generation.models import GenerationJob, JobStatus
from apps.photowall import cache
from apps.photowall.models import Celebrity, Photo

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/generation/generationjob/"


@pytest.fixture
def finished_job(staff_user):
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), (90, 60, 140)).save(buffer, format="PNG")
    job = GenerationJob(
        user=staff_user,
        idea="corporate confidence",
        status=JobStatus.SUCCEEDED,
        batch_key="k",
        wall_consent=True,
        prompt="portrait of a person img, corporate confidence, tailored suit",
        metadata={
            "identity_score": 0.71,
            "mecene": {"chosen": ["tailored suit", "glass office tower", "golden hour"]},
        },
        finished_at=timezone.now(),
    )
    job.face_image.save("face.png", ContentFile(buffer.getvalue()), save=False)
    job.result_image.save(f"{job.id}.png", ContentFile(buffer.getvalue()), save=False)
    job.save()
    return job


def test_staff_see_every_generation_with_thumbnail_prompt_and_identity_score(
    client, staff_user, finished_job
):
    client.force_login(staff_user)
    listing = client.get(CHANGELIST).content.decode()
    assert finished_job.result_image.url in listing and "0.71" in listing
    detail = client.get(f"{CHANGELIST}{finished_job.pk}/change/").content.decode()
    assert "tailored suit" in detail and "identity_score" in detail


def test_the_admin_is_for_staff_only(client, make_user, finished_job):
    assert client.get(CHANGELIST).status_code == 302  # to the login page
    client.force_login(make_user())
    assert client.get(CHANGELIST).status_code == 302


def test_publishing_a_generation_copies_it_to_the_wall(client, staff_user, finished_job):
    client.force_login(staff_user)
    form = client.post(CHANGELIST, {"action": "publish_to_wall", "_selected_action": [finished_job.pk]})
    assert form.status_code == 200 and b"new_celebrity" in form.content  # asks for whose wall
    done = client.post(
        CHANGELIST,
        {
            "action": "publish_to_wall",
            "_selected_action": [finished_job.pk],
            "apply": "1",
            "new_celebrity": "Ada Lovelace",
        },
        follow=True,
    )
    assert b"1 portrait(s) published" in done.content
    photo = Photo.objects.get()
    assert photo.celebrity == Celebrity.objects.get(name="Ada Lovelace") and photo.source_job == finished_job
    assert photo.seo_name == "ada-lovelace-tailored-suit-glass-office-tower-golden-hour-portrait"
    assert photo.image.name == f"photowall/{photo.seo_name}.png" and photo.image.read()[:4] == b"\x89PNG"
    assert photo.caption == "tailored suit, glass office tower, golden hour" and photo.published
    assert cache.stats()["images"] == 1


def test_an_unfinished_generation_is_refused_with_the_reason(client, staff_user, finished_job):
    GenerationJob.objects.filter(pk=finished_job.pk).update(status=JobStatus.FAILED)
    client.force_login(staff_user)
    done = client.post(
        CHANGELIST,
        {
            "action": "publish_to_wall",
            "_selected_action": [finished_job.pk],
            "apply": "1",
            "new_celebrity": "Ada",
        },
        follow=True,
    )
    assert b"Only finished portraits can be published" in done.content and not Photo.objects.exists()


def test_unpublish_and_delete_from_the_photo_admin(client, staff_user, finished_job):
    from apps.photowall import services

    photo = services.job_publish(job=finished_job, celebrity=services.celebrity_get_or_create("Ada"))
    client.force_login(staff_user)
    listing = client.get("/admin/photowall/photo/").content.decode()
    assert re.search(r"cache: 1 images, \d+ KiB, loaded 20\d\d-\d\d-\d\dT", listing)  # the cache's stats
    client.post("/admin/photowall/photo/", {"action": "unpublish", "_selected_action": [photo.pk]})
    photo.refresh_from_db()
    assert not photo.published and cache.stats()["images"] == 0
    client.post("/admin/photowall/photo/", {"action": "publish", "_selected_action": [photo.pk]})
    assert cache.stats()["images"] == 1
    client.post(f"/admin/photowall/photo/{photo.pk}/delete/", {"post": "yes"})
    assert not Photo.objects.exists() and cache.stats()["images"] == 0


def test_demo_photos_are_labelled_in_the_admin(client, staff_user, finished_job):
    from apps.photowall import services

    photo = services.job_publish(job=finished_job, celebrity=services.celebrity_get_or_create("Ada"))
    Photo.objects.filter(pk=photo.pk).update(is_demo=True)
    client.force_login(staff_user)
    assert b"DEMO DATA" in client.get("/admin/photowall/photo/").content


def test_staff_who_may_only_view_cannot_publish(client, make_user, finished_job):
    from django.contrib.auth.models import Permission

    viewer = make_user(staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_generationjob"))
    client.force_login(viewer)
    assert client.get(CHANGELIST).status_code == 200
    client.post(
        CHANGELIST,
        {
            "action": "publish_to_wall",
            "_selected_action": [finished_job.pk],
            "apply": "1",
            "new_celebrity": "X",
        },
    )
    assert not Photo.objects.exists()


def test_generations_cannot_be_deleted_by_hand(client, staff_user, finished_job):
    client.force_login(staff_user)
    client.post(f"{CHANGELIST}{finished_job.pk}/delete/", {"post": "yes"})
    assert GenerationJob.objects.filter(pk=finished_job.pk).exists()
