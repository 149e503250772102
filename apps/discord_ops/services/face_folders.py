"""Face folders: operators' own test faces, each photo through the public upload checks."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.db import transaction

from apps.discord_ops.errors import OpsError, quoted
from apps.discord_ops.models import FaceFolder, FacePhoto
from apps.generation.uploads import UploadError, check_face, clean_photo

logger = logging.getLogger("narcis.ops")

FOLDER_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def folder_import(*, name: str, directory: Path) -> list[FacePhoto]:
    """Every photo in `directory` into faces/<name>/, each through the public upload checks (type,
    size, pixels, a face), all or nothing: a photo without a face is refused by its file name."""
    if not FOLDER_NAME.fullmatch(name or "") or len(name) > 40:
        raise OpsError(
            f"{quoted(name)} is not a folder name: lowercase letters, digits and single dashes, at most 40."
        )
    directory = Path(directory)
    if not directory.is_dir():
        raise OpsError(f"{directory} is not a folder.")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not files:
        raise OpsError(f"{directory} holds no JPEG, PNG or WebP photo.")
    cleaned = []
    for path in files:
        try:
            photo = clean_photo(path.read_bytes())
            check_face(photo)
        except UploadError as error:
            raise OpsError(f"{path.name}: {error.message}") from None
        cleaned.append((path.stem, photo))
    stored = []
    with transaction.atomic():
        folder, _ = FaceFolder.objects.get_or_create(name=name)
        for stem, photo in cleaned:
            existing = FacePhoto.objects.filter(folder=folder, name=stem).first()
            if existing is not None:
                existing.image.delete(save=False)
            face = existing or FacePhoto(folder=folder, name=stem)
            face.image.save(f"faces/{name}/{stem}.png", photo.file, save=False)
            face.save()
            stored.append(face)
    logger.info("face folder imported", extra={"folder": name, "photos": len(stored)})
    return stored


MAX_ZIP_PHOTOS = 200


def folder_import_zip(*, name: str, archive) -> list[FacePhoto]:
    """The admin's zip upload: its photos (by file name only: no paths are followed) through
    folder_import. At most MAX_ZIP_PHOTOS photos, each within the upload size limit."""
    import tempfile
    import zipfile

    from apps.generation.uploads import MAX_BYTES

    try:
        with zipfile.ZipFile(archive) as bundle, tempfile.TemporaryDirectory() as scratch:
            members = [
                m
                for m in bundle.infolist()
                if not m.is_dir() and Path(m.filename).suffix.lower() in PHOTO_SUFFIXES
            ]
            if len(members) > MAX_ZIP_PHOTOS:
                raise OpsError(f"The zip holds {len(members)} photos; at most {MAX_ZIP_PHOTOS} at a time.")
            for member in members:
                if member.file_size > MAX_BYTES:
                    raise OpsError(f"{member.filename} is larger than {MAX_BYTES // 2**20} MB.")
                target = Path(scratch) / Path(member.filename).name  # the name alone: no path tricks
                if target.exists():
                    raise OpsError(f"Two photos in the zip are named {target.name}.")
                target.write_bytes(bundle.read(member))
            return folder_import(name=name, directory=Path(scratch))
    except zipfile.BadZipFile:
        raise OpsError("That is not a zip file.") from None
