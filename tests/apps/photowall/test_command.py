"""manage.py photowall --stats / --reload / --import DIR / --demo."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from apps.photowall.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = io.StringIO()
    call_command("photowall", *args, stdout=out)
    return out.getvalue()


def test_import_a_folder_then_stats_and_reload(tmp_path):
    (tmp_path / "grace-hopper").mkdir()
    Image.new("RGB", (300, 400), "navy").save(tmp_path / "grace-hopper" / "one.png")
    Image.new("RGB", (300, 400), "teal").save(tmp_path / "lone.jpg")
    (tmp_path / "lone.jpg.json").write_text(json.dumps({"mecene": {"chosen": ["ocean dreamer", "sea mist"]}}))
    (tmp_path / "notes.txt").write_text("not an image")
    assert "imported 2 photo(s)" in run("--import", str(tmp_path), "--celebrity", "Guests")
    assert {p.celebrity.name for p in Photo.objects.all()} == {"grace hopper", "Guests"}
    assert Photo.objects.get(celebrity__name="Guests").caption == "ocean dreamer, sea mist"
    assert "images: 2" in run("--stats") and "images: 2" in run("--reload")


def test_bad_use_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="say what to do"):
        run()
    with pytest.raises(CommandError, match="is not a folder"):
        run("--import", str(tmp_path / "missing"))


def test_demo_seeding_paints_labelled_portraits_once():
    assert "seeded" in run("--demo")
    demo = Photo.objects.filter(is_demo=True)
    assert demo.count() == 6 and all(p.caption for p in demo) and all(p.width == 256 for p in demo)
    assert "already there" in run("--demo") and demo.count() == 6


def test_an_import_with_one_bad_file_names_it_and_imports_nothing(tmp_path):
    Image.new("RGB", (300, 400), "navy").save(tmp_path / "good.png")
    (tmp_path / "good.png.json").write_text('["not", "a", "mapping"]')  # ignored, not a crash
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(CommandError, match=r"bad\.jpg: Not a readable image"):
        run("--import", str(tmp_path))
    assert not Photo.objects.exists()
    (tmp_path / "bad.jpg").unlink()
    assert "imported 1 photo(s)" in run("--import", str(tmp_path))
    assert Photo.objects.get().caption == "good"
