import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def face_file():
    def make() -> ContentFile:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 150, 120)).save(buffer, format="PNG")
        return ContentFile(buffer.getvalue())

    return make
