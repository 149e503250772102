"""Local media: finished portraits are served by their UUID names; uploaded faces never are."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_a_result_is_served_and_a_face_is_not(client):
    result = default_storage.save("productions/0b6c.png", ContentFile(b"\x89PNG result"))
    face = default_storage.save("faces/0b6c.png", ContentFile(b"\x89PNG face"))
    response = client.get(f"/media/{result}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x89PNG result"
    assert client.get(f"/media/{face}").status_code == 404
    assert client.get("/media/productions/../faces/0b6c.png").status_code == 404


@pytest.mark.django_db
def test_wall_originals_are_for_staff_only(client, staff_user, make_user):
    name = default_storage.save("photowall/ada-portrait.png", ContentFile(b"\x89PNG wall"))
    assert client.get(f"/media/{name}").status_code == 302  # to the admin login
    client.force_login(make_user())
    assert client.get(f"/media/{name}").status_code == 302
    client.force_login(staff_user)
    assert b"".join(client.get(f"/media/{name}").streaming_content) == b"\x89PNG wall"


@pytest.mark.django_db
def test_a_name_too_long_for_the_filesystem_is_a_404(client, settings):
    (settings.MEDIA_ROOT / "productions").mkdir(parents=True)
    assert client.get("/media/productions/" + "a" * 300).status_code == 404
    assert client.get("/media/productions/" + "a" * 300 + ".png").status_code == 404
