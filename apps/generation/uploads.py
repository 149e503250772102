"""Checking what visitors send: the face photo and the idea. Nothing is trusted until it passes here.

The photo's type comes from its bytes, never its name; size and pixel bounds are checked before
decoding the whole image (a decompression bomb is refused from its header); EXIF orientation is applied
and every piece of metadata (GPS included) is dropped by re-encoding the pixels as PNG. A photo without
a face is refused here, before any token is spent (the worker checks again with its own analyzer).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.generation.models import MAX_EXTRA_FACES
from inference.faces import FaceError, OpenCVFaceAnalyzer, largest_face
from inference.mecene.words import MAX_CHARS, MAX_WORDS, WordsError, normalise_words
from inference.params import MAX_SEED

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 4096
MIN_SIDE = 64
FORMATS = {"JPEG", "PNG", "WEBP"}
# All the photos of one submit together: four 12-megapixel phone photos pass, four of MAX_SIDE do not
# (decoding those took 11 s of CPU).
MAX_TOTAL_PIXELS = 50_000_000
FACE_CHECK_SIDE = 1024  # the face check looks at a copy this size at most: a selfie's face stays large


class UploadError(ValueError):
    def __init__(self, code: str, message: str, field: str):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class CleanPhoto:
    file: ContentFile  # PNG, orientation applied, no metadata
    width: int
    height: int
    image: Image.Image  # the same pixels, RGB


T = TypeVar("T")
_analyzers = threading.local()  # OpenCV's cascade is not shared between threads


def check_face(photo: CleanPhoto) -> None:
    """Refuse a photo in which the offline detector (OpenCV, milliseconds) finds no face."""
    if not hasattr(_analyzers, "opencv"):
        _analyzers.opencv = OpenCVFaceAnalyzer()
    small = photo.image.copy()
    small.thumbnail((FACE_CHECK_SIDE, FACE_CHECK_SIDE))
    try:
        largest_face(_analyzers.opencv, np.asarray(small))
    except FaceError:
        message = (
            "We could not find a face in this photo. Please use one with one clear, front-facing face, "
            "well lit and not too small."
        )
        raise UploadError("no_face", message, "face") from None


def clean_faces(first: bytes, more: Sequence[bytes] = ()) -> list[CleanPhoto]:
    """The selfie and up to MAX_EXTRA_FACES further photos of the same person, each cleaned and checked
    for a face like the first; a fault in a further photo names it ("Photo 2: ...", field extra_faces).

    Every photo's header is read before any is decoded: a set of photos past MAX_TOTAL_PIXELS
    together is refused before a single pixel is decoded."""
    check_extra_count(len(more))
    photos = [first, *more]
    check_total_pixels(photos)
    return _each_photo(photos, _decode_with_face)


def check_total_pixels(photos: Sequence[bytes]) -> None:
    """A submission's photos past MAX_TOTAL_PIXELS together are refused from their headers alone."""
    pixels = sum(width * height for width, height in _each_photo(photos, _probe))
    if pixels > MAX_TOTAL_PIXELS:
        message = (
            f"These photos have {pixels / 1e6:.0f} million pixels together; please send at most "
            f"{MAX_TOTAL_PIXELS // 1_000_000} million (smaller photos, or fewer of them)."
        )
        raise UploadError("images_too_large", message, "extra_faces" if len(photos) > 1 else "face")


def _each_photo(photos: Sequence[bytes], check: Callable[[bytes], T]) -> list[T]:
    """`check` on each photo in order; a fault in a further photo names it ("Photo 2: ...")."""
    results = [check(photos[0])]
    for number, data in enumerate(photos[1:], start=2):
        try:
            results.append(check(data))
        except UploadError as error:
            raise UploadError(error.code, f"Photo {number}: {error.message}", "extra_faces") from None
    return results


def check_extra_count(count: int) -> None:
    """Refused from the number of further photos alone, before any is read."""
    if count > MAX_EXTRA_FACES:
        message = f"Send at most {MAX_EXTRA_FACES} more photos (four of you in all)."
        raise UploadError("too_many_faces", message, "extra_faces")


def _decode_with_face(data: bytes) -> CleanPhoto:
    """A photo whose header clean_faces already probed: decoded, cleaned and checked for a face."""
    photo = _decode(data)
    check_face(photo)
    return photo


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _probe(data: bytes) -> tuple[int, int]:
    """The photo's size in pixels, from its header, after the checks that need no decoding."""
    if not data:
        raise UploadError("empty_file", "The photo is empty. Please choose a picture file.", "face")
    if len(data) > MAX_BYTES:
        raise UploadError(
            "file_too_large",
            f"The photo is larger than {MAX_BYTES // 2**20} MB. Please use a smaller one.",
            "face",
        )
    kind = _sniff(data)
    if kind is None:
        raise UploadError("unsupported_type", "Please upload a JPEG, PNG or WebP photo.", "face")
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            if probe.format not in FORMATS or probe.format != kind:
                raise UploadError("unsupported_type", "Please upload a JPEG, PNG or WebP photo.", "face")
            width, height = probe.size
            if max(width, height) > MAX_SIDE:
                raise UploadError(
                    "image_too_large",
                    f"The photo is {width}x{height} pixels; please use one at most {MAX_SIDE} per side.",
                    "face",
                )
            if min(width, height) < MIN_SIDE:
                raise UploadError(
                    "image_too_small",
                    f"The photo is only {width}x{height} pixels; please use one at least {MIN_SIDE} a side.",
                    "face",
                )
            return width, height
    except UploadError:
        raise
    except Image.DecompressionBombError:  # PIL refuses absurd pixel counts before decoding anything
        raise UploadError(
            "image_too_large",
            f"The photo has far too many pixels; please use one at most {MAX_SIDE} per side.",
            "face",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _unreadable() from None


def _unreadable() -> UploadError:
    message = "This photo could not be read; it may be damaged. Please try another."
    return UploadError("unreadable_image", message, "face")


def clean_photo(data: bytes) -> CleanPhoto:
    _probe(data)
    return _decode(data)


def _decode(data: bytes) -> CleanPhoto:
    """Orientation applied, re-encoded as PNG; only for a photo that passed _probe."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated file fails here
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _unreadable() from None
    buffer = io.BytesIO()
    upright.save(buffer, format="PNG")  # fresh pixels: no EXIF, no GPS, no comments
    return CleanPhoto(ContentFile(buffer.getvalue()), upright.width, upright.height, upright)


# The canonical form of an idea, for the OpenAPI document: clean_idea also accepts other case and extra
# spaces, and normalises them to this.
IDEA_IN_OPENAPI = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CHARS,
    "pattern": rf"^[^\W\d_]+(?:[ -][^\W\d_]+){{0,{MAX_WORDS - 1}}}$",
    "description": f"1 to {MAX_WORDS} words of letters, single spaces or hyphens between them.",
    "examples": ["corporate confidence"],
}
SEED_IN_OPENAPI = {"type": "integer", "minimum": 0, "maximum": MAX_SEED}  # the catalogue's bound


def clean_idea(raw: str) -> str:
    """1 to 4 words of letters (hyphens allowed), at most 60 characters, lower-cased, single-spaced."""
    try:
        return normalise_words(raw)
    except WordsError as error:
        raise UploadError(error.code, error.message, "idea") from None


def check_concept_seed(seed: int | None) -> int | None:
    """The seed of a previewed concept (GET /api/mecene), sent back so the portrait uses that concept."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        message = f"The concept seed must be between 0 and {MAX_SEED}."
        raise UploadError("invalid_seed", message, "concept_seed")
    return seed
