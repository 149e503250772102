"""Photos sent ahead of a submission (POST /api/uploads), for programs that would rather not inline them.

An upload is checked exactly like a submitted photo (uploads.clean_faces: type sniffed from the bytes,
size and pixel bounds, EXIF orientation applied, metadata dropped, a face found), stored cleaned, and
bound to its owner: only that owner's submissions can name it. It is personal data with a short life:

- used: the job takes a copy of its pixels; its submission takes the upload rows, locked, in the
  transaction that queues the job (two submissions naming one upload: one job), and the files go once it
  commits;
- never used: it expires UPLOAD_TTL_MINUTES after it was made and is deleted then by the next upload
  (anyone's: each POST /api/uploads sweeps the expired ones first), and at the latest by
  `manage.py sweep_faces` (daily), which also deletes files no upload row names (their owner was erased);
- its owner erased (an account deleted, a guest session purged): deleted with the owner's portraits.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.generation.errors import Refused
from apps.generation.models import PhotoUpload
from apps.generation.selectors import owner_fields
from apps.generation.stored_files import unnamed_files
from apps.generation.uploads import CleanPhoto, UploadError, check_total_pixels, clean_faces

logger = logging.getLogger("narcis.generation")


@dataclass(frozen=True)
class PhotoSource:
    """One photo of a submission (apps.generation.submission parses them): its bytes to clean (a file
    part, a data: URI) or the id of an upload."""

    field: str  # "face" or "extra_faces", for the error that names it
    data: bytes | None = None
    upload_id: str | None = None


MAX_LIVE_UPLOADS = 8  # per owner: two full submissions' worth (a selfie and three more each)
UPLOADS_FOLDER = "uploads"  # PhotoUpload.image's upload_to


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
    existence leak; 400 `repeated_upload` for one upload named twice (one photo is not two)."""
    live = PhotoUpload.objects.filter(expires_at__gt=timezone.now(), **owner_fields(owner))
    found, seen = {}, set()
    for field, raw in refs:
        try:
            key = uuid.UUID(raw)
        except ValueError:
            raise _unknown(field) from None
        if key in seen:
            message = "The same upload is named twice. Send each photo once."
            raise UploadError("repeated_upload", message, field)
        seen.add(key)
        upload = live.filter(id=key).first()
        if upload is None:
            raise _unknown(field)
        try:
            with upload.image.open("rb") as handle:
                found[raw] = handle.read()
        except FileNotFoundError:
            raise _unknown(field) from None
    return found


def uploads_take(*, owner, ids: Sequence[str]) -> None:
    """Inside the transaction that queues a job: its uploads' rows, locked and deleted, so a concurrent
    submission naming one of them finds it gone (400 `unknown_upload`, and its transaction rolls back);
    their files are deleted once this one commits (a failure there is logged: the job is queued)."""
    if not ids:
        return
    keys = {uuid.UUID(raw) for raw in ids}
    taken = list(
        PhotoUpload.objects.select_for_update()
        .filter(id__in=keys, expires_at__gt=timezone.now(), **owner_fields(owner))
        .order_by("id")
    )
    if len(taken) != len(keys):
        raise _unknown("face")
    PhotoUpload.objects.filter(id__in=[upload.id for upload in taken]).delete()
    names = [upload.image.name for upload in taken]
    storage = PhotoUpload._meta.get_field("image").storage

    def delete_files() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files, robust=True)


def uploads_move(*, session, user) -> int:
    """A guest signed up or logged in: the photos they sent ahead are the account's now."""
    return PhotoUpload.objects.filter(guest_session=session).update(user=user, guest_session=None)


def uploads_erase(*, owner) -> int:
    """Every upload of an owner who is being erased, files and rows."""
    return _delete(list(PhotoUpload.objects.filter(**owner_fields(owner))))


def uploads_sweep_orphans(*, now: dt.datetime, grace: dt.timedelta, dry_run: bool = False) -> list[str]:
    """Files under uploads/ that no upload row names, older than `grace` (an upload stores its file just
    before its row)."""
    storage = PhotoUpload._meta.get_field("image").storage

    def named_among(paths: list[str]):
        return PhotoUpload.objects.filter(image__in=paths).values_list("image", flat=True)

    orphans = unnamed_files(storage, UPLOADS_FOLDER, named_among=named_among, older_than=now - grace)
    if not dry_run:
        for path in orphans:
            storage.delete(path)
    return orphans


def uploads_sweep_expired(*, now: dt.datetime | None = None, dry_run: bool = False) -> list[str]:
    """Delete every expired upload, file and row; returns the files' names."""
    expired = list(PhotoUpload.objects.filter(expires_at__lte=now or timezone.now()))
    names = [upload.image.name for upload in expired]
    if not dry_run:
        _delete(expired)
    if expired:
        logger.info("uploads swept", extra={"expired": len(expired), "dry_run": dry_run})
    return names


def _delete(uploads: list[PhotoUpload]) -> int:
    """These uploads' files, then their rows."""
    for upload in uploads:
        upload.image.delete(save=False)
    PhotoUpload.objects.filter(id__in=[upload.id for upload in uploads]).delete()
    return len(uploads)


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
    if stored:  # photos sent ahead were bounded one by one; the set is bounded together here
        check_total_pixels([*stored.values(), *sent])
    cleaned = iter(clean_faces(sent[0], sent[1:]) if sent else [])
    return [
        ContentFile(stored[s.upload_id]) if s.upload_id is not None else next(cleaned).file for s in sources
    ]
