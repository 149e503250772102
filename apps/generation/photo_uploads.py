"""Photos sent ahead of a submission (POST /api/uploads), for programs that would rather not inline them.

An upload is checked exactly like a submitted photo (uploads.clean_faces: type sniffed from the bytes,
size and pixel bounds, EXIF orientation applied, metadata dropped, a face found), stored cleaned, and
bound to its owner: only that owner's submissions can name it. It is personal data with a short life:

- used: the job takes a copy of its pixels, and the upload (row and file) is deleted when the job commits;
- never used: it expires UPLOAD_TTL_MINUTES after it was made and is deleted then by the next upload
  (anyone's: each POST /api/uploads sweeps the expired ones first), and at the latest by
  `manage.py sweep_faces` (daily), which sweeps them too.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.generation.errors import Refused
from apps.generation.models import PhotoUpload
from apps.generation.selectors import owner_fields
from apps.generation.submission import PhotoSource
from apps.generation.uploads import CleanPhoto, UploadError, clean_faces

logger = logging.getLogger("narcis.generation")

MAX_LIVE_UPLOADS = 8  # per owner: two full submissions' worth (a selfie and three more each)


def upload_create(*, owner, photo: CleanPhoto, now: dt.datetime | None = None) -> PhotoUpload:
    """Store a cleaned photo for its owner's next submission; Refused (429) past MAX_LIVE_UPLOADS."""
    now = now or timezone.now()
    uploads_sweep_expired(now=now)
    if PhotoUpload.objects.filter(expires_at__gt=now, **owner_fields(owner)).count() >= MAX_LIVE_UPLOADS:
        message = f"You have {MAX_LIVE_UPLOADS} unused uploads: use them in a portrait or let them expire."
        raise Refused(429, "too_many_uploads", message)
    upload = PhotoUpload(
        expires_at=now + dt.timedelta(minutes=settings.UPLOAD_TTL_MINUTES), **owner_fields(owner)
    )
    upload.image.save(f"{upload.id}.png", photo.file, save=False)
    try:
        upload.save(force_insert=True)
    except BaseException:
        upload.image.delete(save=False)  # no row, no file
        raise
    return upload


def upload_bytes(*, owner, refs: Iterable[tuple[str, str]]) -> dict[str, bytes]:
    """{id: the cleaned PNG} for these (field, id) references to the owner's uploads that have not
    expired; UploadError (400 `unknown_upload`, naming the field) for any other id, whoever's it is: no
    existence leak."""
    live = PhotoUpload.objects.filter(expires_at__gt=timezone.now(), **owner_fields(owner))
    found = {}
    for field, raw in refs:
        try:
            upload = live.filter(id=uuid.UUID(raw)).first()
        except ValueError:
            upload = None
        if upload is None:
            raise _unknown(field)
        try:
            with upload.image.open("rb") as handle:
                found[raw] = handle.read()
        except FileNotFoundError:
            raise _unknown(field) from None
    return found


def uploads_consume(ids: Iterable[str]) -> None:
    """Delete these uploads once the job that used them has committed (it holds its own copies)."""
    keys = list(ids)

    def delete() -> None:
        for upload in PhotoUpload.objects.filter(id__in=keys):
            upload.image.delete(save=False)
            upload.delete()

    transaction.on_commit(delete)


def uploads_sweep_expired(*, now: dt.datetime | None = None, dry_run: bool = False) -> list[str]:
    """Delete every expired upload, file and row; returns the files' names."""
    expired = list(PhotoUpload.objects.filter(expires_at__lte=now or timezone.now()))
    names = [upload.image.name for upload in expired]
    if not dry_run:
        for upload in expired:
            upload.image.delete(save=False)
            upload.delete()
    if expired:
        logger.info("uploads swept", extra={"expired": len(expired), "dry_run": dry_run})
    return names


def _unknown(field: str) -> UploadError:
    message = "No such upload: it expired, was used already, or is not yours. Upload the photo again."
    return UploadError("unknown_upload", message, field)


def submitted_photos(*, owner, sources: Sequence[PhotoSource]) -> list[ContentFile]:
    """A submission's photos, the selfie first, each clean: bytes sent now are cleaned and checked here
    (uploads.clean_faces, their pixels bounded together); uploads were at upload, and are read back."""
    stored = upload_bytes(
        owner=owner, refs=[(s.field, s.upload_id) for s in sources if s.upload_id is not None]
    )
    sent = [s.data for s in sources if s.data is not None]
    cleaned = iter(clean_faces(sent[0], sent[1:]) if sent else [])
    return [
        ContentFile(stored[s.upload_id]) if s.upload_id is not None else next(cleaned).file for s in sources
    ]
