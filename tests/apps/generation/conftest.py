import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from inference.models import presets
from inference.params import GenerationParams

# What these tests' jobs paint with: 64 px, 3 + 3 steps, so a job takes moments on the CPU.
SMALL = GenerationParams(
    width=64, height=64, steps=3, start_merge_step=1, detailing_steps=3, detailing_resolution=64
)


@pytest.fixture(autouse=True)
def small_defaults(monkeypatch):
    """The tiny preset's defaults, as job_submit resolves them, are SMALL here."""
    monkeypatch.setattr(presets, "TINY_DEFAULTS", SMALL)


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


@pytest.fixture
def generous_limits(settings):
    """Visitors' per-minute and queued limits are test_api.py's subject; elsewhere they get in the way."""
    settings.GENERATIONS_PER_MINUTE = settings.GENERATIONS_MAX_QUEUED = 100
