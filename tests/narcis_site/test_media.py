"""Local media: finished portraits are served by their UUID names; uploaded faces never are."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_result_is_served_and_a_face_is_not(client):
    result = default_storage.save("productions/0b6c.png", ContentFile(b"\x89PNG result"))
    face = default_storage.save("faces/0b6c.png", ContentFile(b"\x89PNG face"))
    response = client.get(f"/media/{result}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x89PNG result"
    assert client.get(f"/media/{face}").status_code == 404
    assert client.get("/media/productions/../faces/0b6c.png").status_code == 404
