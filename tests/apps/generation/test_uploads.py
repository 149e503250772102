import io

import pytest
import skimage.data
from PIL import Image

from apps.generation.uploads import UploadError, clean_idea, clean_photo


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


ASTRONAUT = Image.fromarray(skimage.data.astronaut())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_come_back_as_clean_png(fmt):
    photo = clean_photo(encode(ASTRONAUT, fmt))
    assert (photo.width, photo.height) == (512, 512)
    assert Image.open(photo.file).format == "PNG"


def test_exif_orientation_is_applied_and_metadata_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    exif[0x010F] = "SecretPhone"
    wide = ASTRONAUT.resize((400, 200))
    photo = clean_photo(encode(wide, "JPEG", exif=exif.tobytes()))
    assert (photo.width, photo.height) == (200, 400)
    cleaned = Image.open(photo.file)
    assert not cleaned.getexif() and b"SecretPhone" not in photo.file.file.getvalue()


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "empty_file"),
        (b"GIF89a" + b"\x00" * 100, "unsupported_type"),
        (b"<?php echo 'not a photo'; ?>", "unsupported_type"),  # whatever its file name says
        (encode(ASTRONAUT, "JPEG")[:2000], "unreadable_image"),  # truncated
        (encode(Image.new("RGB", (1, 1)), "PNG"), "image_too_small"),
        (b"\x00" * (11 * 1024 * 1024), "file_too_large"),
    ],
)
def test_bad_photos_are_refused_with_a_code(data, code):
    with pytest.raises(UploadError) as error:
        clean_photo(data)
    assert error.value.code == code and error.value.field == "face" and error.value.message


def test_a_huge_png_is_refused_from_its_header():
    # 20000 x 20000, compressed to a few hundred KB: refused before 1.2 GB of pixels are decoded.
    data = encode(Image.new("L", (20000, 20000)), "PNG", optimize=False)
    assert len(data) < 10 * 1024 * 1024
    with pytest.raises(UploadError) as error:
        clean_photo(data)
    assert error.value.code == "image_too_large" and "4096" in error.value.message


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("  Corporate   Confidence ", "corporate confidence"),
        ("Ethereal-beauty", "ethereal-beauty"),
        ("élégance", "élégance"),
    ],
)
def test_ideas_are_normalised(raw, clean):
    assert clean_idea(raw) == clean


@pytest.mark.parametrize(
    "raw,code",
    [
        ("", "idea_required"),
        ("one two three four five", "idea_too_long"),
        ("a" * 61, "idea_too_long"),
        ("<b>bold</b> move", "idea_invalid"),
        ("agent 007", "idea_invalid"),
        ("one two three four five six seven eight nine ten eleven twelve", "idea_too_long"),
    ],
)
def test_bad_ideas_are_refused_with_a_code(raw, code):
    with pytest.raises(UploadError) as error:
        clean_idea(raw)
    assert error.value.code == code and error.value.field == "idea"


def test_a_photo_wider_than_the_limit_is_refused_with_its_size():
    with pytest.raises(UploadError) as error:
        clean_photo(encode(Image.new("RGB", (5000, 100)), "PNG"))
    assert error.value.code == "image_too_large" and "5000x100" in error.value.message
