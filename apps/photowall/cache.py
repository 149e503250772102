"""The wall cache: metadata and thumbnail bytes of every published photo, in Django's cache (Redis when
configured, so every web task shares one copy; local memory under `make run`).

It loads at first use, reloads when staff publish or unpublish (services call `reload`), and an empty
cache (evicted, flushed, a fresh Redis) reloads itself on the next read. Thumbnails are JPEG, at most
THUMB_SIDE pixels a side: the wall never sends a full-size portrait.
"""

from __future__ import annotations

import io
import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from PIL import Image

from apps.photowall.models import Photo

logger = logging.getLogger("narcis.photowall")

INDEX_KEY = "photowall:index"
GENERATION_KEY = "photowall:generation"  # bumped by every reload: a slower, older reload must not win
THUMB_SIDE = 512


def _thumb_key(photo_id: int, etag: str) -> str:
    return f"photowall:thumb:{photo_id}:{etag}"


def forget_thumbnail(photo_id: int, etag: str) -> None:
    """A deleted photo's thumbnail leaves the cache too, not only the index."""
    cache.delete(_thumb_key(photo_id, etag))


def _thumbnail(photo: Photo) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height): from the cache when this version of the photo was seen before,
    else decoded from the original once."""
    key = _thumb_key(photo.pk, photo.etag)
    cached = cache.get(key)
    if cached is not None:
        return cached
    with photo.image.open("rb") as handle, Image.open(handle) as image:
        image = image.convert("RGB")
        image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85, progressive=True, optimize=True)
        thumb = (buffer.getvalue(), image.width, image.height)
    cache.set(key, thumb, timeout=None)
    return thumb


def _entry(photo: Photo, thumb: bytes, width: int, height: int) -> dict:
    return {
        "id": photo.pk,
        "celebrity_id": photo.celebrity_id,
        "celebrity": photo.celebrity.name,
        "seo_name": photo.seo_name,
        "caption": photo.caption,
        "width": width,
        "height": height,
        "etag": photo.etag,
        "bytes": len(thumb),
        "is_demo": photo.is_demo,
    }


def reload() -> dict:
    """Rebuild the index from the published photos (decoding only photos not seen before)."""
    cache.add(GENERATION_KEY, 0, timeout=None)
    generation = cache.incr(GENERATION_KEY)
    photos = Photo.objects.filter(published=True).select_related("celebrity").order_by("pk")
    entries = []
    for photo in photos:
        try:
            thumb, width, height = _thumbnail(photo)
        except (OSError, ValueError, Image.DecompressionBombError):
            logger.exception("photowall: unreadable image left out", extra={"photo": photo.pk})
            continue
        entries.append(_entry(photo, thumb, width, height))
    index = {"photos": entries, "loaded_at": timezone.now().isoformat()}
    if cache.get(GENERATION_KEY) == generation:  # else a newer reload started meanwhile: it wins
        cache.set(INDEX_KEY, index, timeout=None)
    logger.info("photowall cache loaded", extra={"images": len(entries)})
    return index


def _reload_on_commit() -> None:
    reload()


def reload_after_commit() -> None:
    """One reload when the current transaction commits, however many changes it made (a rollback
    drops it with the rest of the transaction's on-commit work)."""
    connection = transaction.get_connection()
    if any(entry[1] is _reload_on_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_reload_on_commit)


def index() -> dict:
    cached = cache.get(INDEX_KEY)
    return cached if cached is not None else reload()


def thumbnail(photo_id: int) -> tuple[bytes, dict] | None:
    """(JPEG bytes, entry) of a published photo, or None; a thumbnail evicted alone is rebuilt."""
    entry = next((e for e in index()["photos"] if e["id"] == photo_id), None)
    if entry is None:
        return None
    cached = cache.get(_thumb_key(photo_id, entry["etag"]))
    if cached is None:
        reload()  # the thumbnail alone was evicted: rebuild what is missing
        cached = cache.get(_thumb_key(photo_id, entry["etag"]))
    return (cached[0], entry) if cached is not None else None


def stats() -> dict:
    """What the cache holds now, without loading it: images, bytes, loaded (ISO time or None)."""
    cached = cache.get(INDEX_KEY)
    if cached is None:
        return {"images": 0, "bytes": 0, "loaded": None}
    photos = cached["photos"]
    return {"images": len(photos), "bytes": sum(e["bytes"] for e in photos), "loaded": cached["loaded_at"]}
