"""The My portraits page and the pages that delete a visitor's data, as a browser without JavaScript
uses them: plain form posts, CSRF-checked, each answered with a message on the page it came from."""

import io
import re

import pytest
import skimage.data
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from apps.generation import services
from apps.generation.models import GenerationJob, JobStatus
from apps.sessions_tokens.models import GuestSession, User, Wallet
from tests.guests import start_guest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_limits")]
PAGE = "/portraits/"


def png(array) -> ContentFile:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


def guest_of(client) -> GuestSession:
    return start_guest(client)


def portrait(owner, idea="calm", *, done=True) -> GenerationJob:
    job = services.job_submit(owner=owner, idea=idea, face=png(skimage.data.astronaut()[::4, ::4].copy()))
    if done:
        GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker_id="w")
        services.job_succeed(
            job=job,
            worker_id="w",
            image=png(skimage.data.coffee()),
            prompt="p",
            negative_prompt="",
            metadata={"mecene": {"chosen": ["golden hour", "soft light"]}},
        )
    job.refresh_from_db()
    return job


def messages_on(response) -> list[str]:
    return re.findall(r'<li class="[^"]*">([^<]+)</li>', response.content.decode())


def test_a_new_visitor_sees_an_empty_page_and_gets_no_session_for_it(client):
    response = client.get(PAGE)
    assert response.status_code == 200 and b"No portraits yet" in response.content
    assert django_settings.GUEST_COOKIE_NAME not in response.cookies and not GuestSession.objects.exists()


def test_the_page_lists_the_visitors_own_portraits_newest_first_with_what_each_needs(client):
    guest = guest_of(client)
    older, newer, running = (
        portrait(guest, "quiet scholar"),
        portrait(guest, "cosmic dreamer"),
        portrait(guest, "calm", done=False),
    )
    portrait(guest_of(Client()), "someone else")
    page = client.get(PAGE).content.decode()
    ids = re.findall(r'data-job-id="([0-9a-f-]+)"', page)
    assert ids == [str(running.pk), str(newer.pk), str(older.pk)]
    assert "someone else" not in page and "golden hour" in page
    assert f'href="{newer.result_image.url}" download=' in page  # the full PNG
    assert f"/portraits/{newer.pk}/thumbnail.jpg" in page
    assert "data-live" in page and "Cancel (your token comes back)" in page


def test_pages_of_twelve(client, settings):
    settings.TOKEN_COUNT_FOR_GUESTS = 13
    guest = guest_of(client)
    for _ in range(13):
        portrait(guest, done=False)
    first, second = client.get(PAGE).content.decode(), client.get(PAGE + "?page=2").content.decode()
    assert first.count('class="portrait-card"') == 12 and second.count('class="portrait-card"') == 1
    assert "Page 2 of 2" in second
    assert client.get(PAGE + "?page=banana").status_code == 200  # a bad page number is the first page


def test_the_thumbnail_is_a_small_jpeg_for_its_owner_only(client):
    job = portrait(guest_of(client))
    response = client.get(f"{PAGE}{job.pk}/thumbnail.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    assert max(Image.open(io.BytesIO(response.content)).size) <= 384
    assert (
        client.get(f"{PAGE}{job.pk}/thumbnail.jpg", headers={"If-None-Match": response["ETag"]}).status_code
        == 304
    )
    assert Client().get(f"{PAGE}{job.pk}/thumbnail.jpg").status_code == 404


def test_each_action_answers_with_a_message_and_only_for_the_owner(client, settings):
    guest = guest_of(client)
    job = portrait(guest)
    url = f"{PAGE}{job.pk}"
    assert Client().post(f"{url}/consent/").status_code == 404
    assert client.get(f"{url}/consent/").status_code == 405
    assert client.post(f"{url}/explode/").status_code == 404

    said = messages_on(client.post(f"{url}/consent/", {"page": "1"}, follow=True))
    assert "our curators may now choose it" in said[0] and GenerationJob.objects.get(pk=job.pk).wall_consent
    said = messages_on(client.post(f"{url}/withdraw/", follow=True))
    assert "will not be shown" in said[0] and not GenerationJob.objects.get(pk=job.pk).wall_consent
    said = messages_on(client.post(f"{url}/again/", follow=True))
    assert "Painting it again" in said[0] and GenerationJob.objects.filter(guest_session=guest).count() == 2
    again = GenerationJob.objects.filter(guest_session=guest).exclude(pk=job.pk).get()
    assert "Cancel it first" in messages_on(client.post(f"{PAGE}{again.pk}/delete/", follow=True))[0]
    assert "Canceled" in messages_on(client.post(f"{PAGE}{again.pk}/cancel/", follow=True))[0]
    response = client.post(f"{url}/delete/", {"page": "2"})
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?page=2"
    assert not (settings.MEDIA_ROOT / job.face_image.name).exists()
    assert str(job.pk) not in client.get(PAGE).content.decode()


def test_actions_need_the_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)
    job = portrait(guest_of(browser))
    assert browser.post(f"{PAGE}{job.pk}/delete/").status_code == 403
    assert GenerationJob.objects.get(pk=job.pk).erased_at is None


def test_signing_up_brings_the_guests_portraits_to_the_account(client):
    guest = guest_of(client)
    jobs = [portrait(guest, "quiet scholar"), portrait(guest, "cosmic dreamer")]
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase-42",
            "password2": "a-long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert set(GenerationJob.objects.filter(user=user).values_list("pk", flat=True)) == {j.pk for j in jobs}
    page = client.get(PAGE).content.decode()
    assert "quiet scholar" in page and "cosmic dreamer" in page and "You are a guest" not in page


def test_deleting_an_account_needs_its_password(client, make_user, settings):
    user = make_user(password="a-long-pass-phrase-42")
    Wallet.objects.filter(user=user).update(balance=1)
    client.force_login(user)
    job = portrait(user)
    wrong = client.post("/accounts/delete/", {"password": "guess"})
    assert wrong.status_code == 400 and b"That is not your password" in wrong.content
    assert User.objects.filter(pk=user.pk).exists()

    response = client.post("/accounts/delete/", {"password": "a-long-pass-phrase-42"}, follow=True)

    assert "have been deleted" in messages_on(response)[0]
    assert not User.objects.filter(pk=user.pk).exists() and not GenerationJob.objects.exists()
    assert not (settings.MEDIA_ROOT / job.result_image.name).exists()
    assert client.get("/accounts/").status_code == 302  # logged out


def test_a_guest_is_forgotten_and_their_cookie_goes_too(client):
    guest = guest_of(client)
    portrait(guest)
    response = client.post("/accounts/forget/")
    assert response.status_code == 302 and response.cookies[django_settings.GUEST_COOKIE_NAME].value == ""
    assert not GuestSession.objects.filter(pk=guest.pk).exists() and not GenerationJob.objects.exists()
