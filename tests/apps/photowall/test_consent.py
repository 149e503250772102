"""The wall shows a visitor's portrait only with their consent, and forgets it the moment they withdraw
it, delete it, or delete their account (the copy, its file and its cached thumbnail)."""

import datetime as dt
import io

import pytest
import skimage.data
from django.core.cache import cache as django_cache
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from apps.generation import portraits, services
from apps.generation.models import GenerationJob, JobStatus, Priority
from apps.photowall import cache
from apps.photowall import services as wall
from apps.photowall.models import Photo
from apps.sessions_tokens import services as token_services
from apps.sessions_tokens.errors import WrongPassword
from apps.sessions_tokens.models import GuestSession, LedgerEntry, User, Wallet

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/generation/generationjob/"


def png(array) -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


@pytest.fixture
def painted(settings):
    settings.GENERATIONS_PER_MINUTE = settings.GENERATIONS_MAX_QUEUED = 100

    def paint(owner, *, consent: bool, extra: int = 0) -> GenerationJob:
        face = skimage.data.astronaut()[::4, ::4].copy()
        job = services.job_submit(
            owner=owner, idea="calm", face=png(face), extra_faces=[png(face)] * extra, wall_consent=consent
        )
        GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker_id="w")
        services.job_succeed(
            job=job,
            worker_id="w",
            image=png(skimage.data.coffee()[::4, ::4].copy()),
            prompt="portrait",
            negative_prompt="",
            metadata={"mecene": {"chosen": ["golden hour"]}},
        )
        job.refresh_from_db()
        return job

    return paint


def files_of(job: GenerationJob) -> list[str]:
    return [job.face_image.name, job.result_image.name, *job.extra_faces.values_list("image", flat=True)]


def on_wall(photo_id: int) -> bool:
    return any(entry["id"] == photo_id for entry in cache.index()["photos"])


def publish(job) -> Photo:
    return wall.job_publish(job=job, celebrity=wall.celebrity_get_or_create("Guests"))


def test_staff_cannot_publish_a_portrait_without_its_owners_consent(client, staff_user, guest, painted):
    private, shared = painted(guest, consent=False), painted(guest, consent=True)
    client.force_login(staff_user)
    response = client.post(
        CHANGELIST,
        {
            "action": "publish_to_wall",
            "apply": "1",
            "new_celebrity": "Guests",
            "_selected_action": [private.pk, shared.pk],
        },
        follow=True,
    )
    page = response.content.decode()
    assert "1 portrait(s) published" in page and "did not agree to show it on the PhotoWall" in page
    assert list(Photo.objects.values_list("source_job", flat=True)) == [shared.pk]


def test_staff_and_operators_own_portraits_need_no_consent(guest, painted):
    job = painted(guest, consent=False)
    GenerationJob.objects.filter(pk=job.pk).update(priority=Priority.OPERATOR)
    job.refresh_from_db()
    assert publish(job).source_job_id == job.pk


def test_withdrawing_consent_takes_the_portrait_off_the_wall_and_out_of_the_cache(guest, painted, settings):
    job = painted(guest, consent=True)
    photo = publish(job)
    thumb_key = f"photowall:thumb:{photo.pk}:{photo.etag}"
    assert on_wall(photo.pk) and django_cache.get(thumb_key) is not None

    portraits.job_consent_set(job=job, consent=False)

    assert not Photo.objects.exists() and not on_wall(photo.pk)
    assert django_cache.get(thumb_key) is None
    assert not (settings.MEDIA_ROOT / photo.image.name).exists()
    assert (settings.MEDIA_ROOT / job.result_image.name).exists()  # the visitor keeps their portrait


def test_deleting_a_published_portrait_deletes_its_wall_copy(guest, painted, settings):
    job = painted(guest, consent=True, extra=1)
    photo, files = publish(job), files_of(job)
    portraits.job_erase(job=job)
    assert not Photo.objects.exists() and not on_wall(photo.pk)
    assert not any((settings.MEDIA_ROOT / name).exists() for name in [*files, photo.image.name])


def test_deleting_an_account_deletes_every_photo_portrait_and_wall_copy_and_the_ledger_still_balances(
    make_user, guest, painted, settings
):
    other = token_services.guest_session_create()
    kept = painted(other, consent=True)
    user = make_user(password="a-long-pass-phrase-42")
    mine = painted(guest, consent=True, extra=2)
    token_services.link_guest_to_user(session=guest, user=user)  # the guest's portrait moves to the account
    photos = [publish(mine), publish(kept)]
    files = files_of(mine)
    assert all((settings.MEDIA_ROOT / name).exists() for name in files)

    with pytest.raises(WrongPassword):
        token_services.account_erase(user=user, password="not it")
    assert User.objects.filter(pk=user.pk).exists() and GenerationJob.objects.filter(pk=mine.pk).exists()

    token_services.account_erase(user=user, password="a-long-pass-phrase-42")

    assert not User.objects.filter(pk=user.pk).exists()
    assert not GuestSession.objects.filter(pk=guest.pk).exists()  # linked to it: its ledger named the account
    assert not GenerationJob.objects.filter(pk=mine.pk).exists()
    assert not any((settings.MEDIA_ROOT / name).exists() for name in [*files, photos[0].image.name])
    assert list(Photo.objects.all()) == [photos[1]] and on_wall(photos[1].pk)  # another visitor's stays
    assert all((settings.MEDIA_ROOT / name).exists() for name in files_of(kept))
    for wallet in Wallet.objects.all():
        assert (
            sum(LedgerEntry.objects.filter(wallet=wallet).values_list("delta", flat=True)) == wallet.balance
        )


def test_a_guest_who_asks_to_be_forgotten_leaves_nothing(guest, painted, settings):
    job = painted(guest, consent=True)
    photo, files = publish(job), files_of(job)
    token_services.guest_erase(session=guest)
    assert not GuestSession.objects.filter(pk=guest.pk).exists() and not GenerationJob.objects.exists()
    assert not Photo.objects.exists()
    assert not any((settings.MEDIA_ROOT / name).exists() for name in [*files, photo.image.name])


def test_purging_expired_guests_takes_their_portraits_files_along(guest, painted, settings):
    job = painted(guest, consent=False)
    files = files_of(job)
    GuestSession.objects.filter(pk=guest.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    assert token_services.guest_sessions_purge().sessions_deleted == 1
    assert not any((settings.MEDIA_ROOT / name).exists() for name in files)
