"""Writes to the PhotoWall: publish a generation, import a folder, seed demo portraits, (un)publish.
Every change that alters what the wall shows reloads the wall cache after the commit."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, UnidentifiedImageError

from apps.generation import selectors as generation_selectors
from apps.photowall import cache
from apps.photowall.models import Celebrity, Photo

IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
CAPTION_KEYWORDS = 6


class PublishError(ValueError):
    pass


def celebrity_get_or_create(name: str) -> Celebrity:
    name = " ".join(name.split())
    if not name:
        raise PublishError("A celebrity needs a name.")
    existing = Celebrity.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing
    base = slugify(name)[:90] or "guest"
    slug, n = base, 2
    while Celebrity.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return Celebrity.objects.create(name=name, slug=slug)


def caption_from_keywords(keywords: list[str]) -> str:
    return ", ".join(keywords[:CAPTION_KEYWORDS])


def _seo_name(celebrity: Celebrity, keywords: list[str]) -> str:
    """'ada-lovelace-art-nouveau-golden-hour-portrait': who and what, for search engines."""
    base = slugify(" ".join([celebrity.name, *keywords[:3], "portrait"]))[:120].strip("-")
    name, n = base, 2
    while Photo.objects.filter(seo_name=name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def _image_format(image_bytes: bytes) -> tuple[str, int, int]:
    """(format, width, height) of a PNG, JPEG or WebP image; PublishError for anything else."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as probe:
            fmt, (width, height) = probe.format, probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise PublishError(f"Not a readable image: {error}") from None
    if fmt not in {"PNG", "JPEG", "WEBP"}:
        raise PublishError(f"PNG, JPEG or WebP only, not {fmt}.")
    return fmt, width, height


def photo_create(
    *,
    image_bytes: bytes,
    celebrity: Celebrity,
    keywords: list[str],
    source_job=None,  # the generation job it comes from (a job or its id)
    is_demo: bool = False,
    published: bool = True,
    reload_cache: bool = True,
) -> Photo:
    """Store a photo under its SEO name; the wall cache reloads after the commit (callers adding many
    photos pass reload_cache=False and reload once at the end)."""
    fmt, width, height = _image_format(image_bytes)
    seo = _seo_name(celebrity, keywords)
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
    photo = Photo(
        seo_name=seo,
        caption=caption_from_keywords(keywords),
        celebrity=celebrity,
        source_job_id=getattr(source_job, "pk", source_job),
        is_demo=is_demo,
        published=published,
        width=width,
        height=height,
        size_bytes=len(image_bytes),
        etag=hashlib.sha256(image_bytes).hexdigest()[:32],
    )
    photo.image.save(f"{seo}.{extension}", ContentFile(image_bytes), save=False)
    photo.save()
    if reload_cache:
        cache.reload_after_commit()
    return photo


def job_publish(*, job, celebrity: Celebrity) -> Photo:
    """Copy a finished portrait to photowall/ under its SEO name, captioned with its mecene keywords:
    only when its owner consented (operators' and staff's own test portraits need no consent).
    `job`: a job or its id; read through generation's read-model (JobOutcome)."""
    job_id = getattr(job, "pk", job)
    outcome = generation_selectors.job_outcomes([job_id]).get(job_id)
    if outcome is None or not outcome.succeeded:
        status = outcome.status if outcome else "unknown"
        raise PublishError(f"Only finished portraits can be published ({job_id} is {status}).")
    if not outcome.public:
        raise PublishError(
            f"The owner of {str(job_id)[:8]} ({outcome.idea}) did not agree to show it on the PhotoWall."
        )
    data = generation_selectors.job_result_bytes(job_id)
    return photo_create(image_bytes=data, celebrity=celebrity, keywords=outcome.keywords, source_job=job_id)


def photos_set_published(photos, published: bool) -> int:
    changed = photos.exclude(published=published).update(published=published)
    cache.reload_after_commit()
    return changed


def photos_import(folder: Path, *, celebrity_name: str = "Narcis guests") -> list[Photo]:
    """Import every image under `folder`, all or nothing. A subfolder names the celebrity of the
    images inside it; images at the top go to `celebrity_name`. A sidecar `<image>.json` (as
    `python -m inference generate` writes) may carry `keywords` (or mecene's `chosen`) for the caption.
    Every image is checked before any is stored, so one bad file names itself and imports nothing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishError(f"{folder} is not a folder.")
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        data = path.read_bytes()
        try:
            _image_format(data)
        except PublishError as error:
            raise PublishError(f"{path.relative_to(folder)}: {error}") from None
        owner = path.parent.name if path.parent != folder else celebrity_name
        keywords = _sidecar_keywords(path) or path.stem.replace("-", " ").replace("_", " ").split()
        found.append((data, owner.replace("-", " ").replace("_", " "), keywords))
    with transaction.atomic():
        imported = [
            photo_create(
                image_bytes=data,
                celebrity=celebrity_get_or_create(owner),
                keywords=keywords,
                reload_cache=False,
            )
            for data, owner, keywords in found
        ]
        cache.reload_after_commit()
    return imported


def _sidecar_keywords(path: Path) -> list[str]:
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.exists():
        sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        return []
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    mecene = data.get("mecene") if isinstance(data.get("mecene"), dict) else {}
    words = data.get("keywords") or mecene.get("chosen") or []
    return [w for w in words if isinstance(w, str)] if isinstance(words, list) else []
