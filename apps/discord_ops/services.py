"""Writes of the operators' console. Both front-ends (the Discord bot, `manage.py ops`) only parse, call
these, and format; every rule lives here. Refusals are OpsError, in words an operator can act on."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.discord_ops import selectors, sweeps
from apps.discord_ops.errors import NotAnOperator, OpsError
from apps.discord_ops.models import (
    FaceFolder,
    FacePhoto,
    Operator,
    ParameterSet,
    Production,
    SessionItem,
    SessionKind,
    TestSession,
    VisitorDefaults,
)
from apps.generation import selectors as generation_selectors
from apps.generation import services as generation
from apps.generation.models import GenerationJob, JobStatus
from apps.generation.uploads import UploadError, check_face, clean_idea, clean_photo
from apps.sessions_tokens import services as tokens
from apps.sessions_tokens.models import User
from inference.models.presets import default_params
from inference.params import SPECS, GenerationParams, ParamError, Role

logger = logging.getLogger("narcis.ops")

FOLDER_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
WORKING_SET = "working"
PRODUCTION_MODE = "production_mode"


def operator_account(*, discord_user_id: str | None = None, role_ids=(), email: str | None = None) -> User:
    """The staff account an operator acts as: by Discord user id, else by one of their Discord role ids,
    else (the terminal) by the account's email. Anyone else: NotAnOperator, and an audit log line."""
    entries = Operator.objects.filter(active=True, account__is_active=True, account__is_staff=True)
    entry = None
    if discord_user_id:
        entry = entries.filter(discord_user_id=str(discord_user_id)).first()
    if entry is None and role_ids:
        entry = entries.filter(discord_role_id__in=[str(r) for r in role_ids]).first()
    if entry is None and email:
        entry = entries.filter(account__email__iexact=email).first()
    if entry is None:
        logger.warning(
            "operator console refused", extra={"discord_user_id": discord_user_id or "", "email": bool(email)}
        )
        raise NotAnOperator("You are not on the operators' list. Ask a Narcis admin to add you.")
    return entry.account


# ---- parameter sets ----


def _defaults() -> GenerationParams:
    return default_params(settings.NARCIS_MODELS_DIR)


def parse_value(name: str, text) -> bool | int | float:
    """An operator's typed value, as the catalogue's type for `name` (or production_mode's bool)."""
    kind = "bool" if name == PRODUCTION_MODE else SPECS[name].type
    if not isinstance(text, str):
        return text
    word = text.strip().lower()
    try:
        if kind == "bool":
            if word not in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
                raise ValueError
            return word in {"true", "yes", "on", "1"}
        return int(word) if kind == "int" else float(word)
    except ValueError:
        wanted = {"bool": "true or false", "int": "a whole number", "float": "a number"}[kind]
        raise OpsError(f"{name} must be {wanted} (got {text!r}).") from None


def params_set(*, owner: User, name: str, value, set_name: str = WORKING_SET) -> ParameterSet:
    """Set one parameter in the owner's set: a new version, validated by the catalogue as a whole
    (so start_merge_step is held to steps)."""
    if name != PRODUCTION_MODE and name not in SPECS:
        raise OpsError(sweeps.unknown_parameter(name))
    current = selectors.current_set(owner, set_name)
    values, production_mode = (
        dict(current.values if current else {}),
        bool(current and current.production_mode),
    )
    parsed = parse_value(name, value)
    if name == PRODUCTION_MODE:
        production_mode = parsed
    else:
        values[name] = parsed
        try:
            GenerationParams.parse(values, defaults=_defaults())
        except ParamError as error:
            raise OpsError(error.message) from None
    return _new_version(owner, set_name, values, production_mode)


def params_reset(*, owner: User, name: str | None = None, set_name: str = WORKING_SET) -> ParameterSet:
    """Back to the defaults: one parameter, or all of them (production mode off)."""
    current = selectors.current_set(owner, set_name)
    values = dict(current.values if current else {})
    production_mode = bool(current and current.production_mode)
    if name is None:
        values, production_mode = {}, False
    elif name == PRODUCTION_MODE:
        production_mode = False
    elif name in SPECS:
        values.pop(name, None)
    else:
        raise OpsError(sweeps.unknown_parameter(name))
    return _new_version(owner, set_name, values, production_mode)


def _new_version(owner: User, set_name: str, values: dict, production_mode: bool) -> ParameterSet:
    for _ in range(3):  # two edits at once: the second retries on the next version number
        latest = selectors.current_set(owner, set_name)
        try:
            with transaction.atomic():
                return ParameterSet.objects.create(
                    owner=owner,
                    name=set_name,
                    version=(latest.version + 1) if latest else 1,
                    values=values,
                    production_mode=production_mode,
                )
        except IntegrityError:
            continue
    raise OpsError("The parameter set changed under you several times; try again.")


# ---- face folders ----


def folder_import(*, name: str, directory: Path) -> list[FacePhoto]:
    """Every photo in `directory` into faces/<name>/, each through the public upload checks (type,
    size, pixels, a face), all or nothing: a photo without a face is refused by its file name."""
    if not FOLDER_NAME.fullmatch(name or "") or len(name) > 40:
        raise OpsError(
            f"{name!r} is not a folder name: lowercase letters, digits and single dashes, at most 40."
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


# ---- sessions ----


def test_faces_combinations(
    *, folders: list[str], ideas: list[str], per_input: int
) -> list[sweeps.Combination]:
    """faces (every photo of each folder) × ideas × per_input."""
    if not 1 <= per_input <= 20:
        raise OpsError("generations_per_input must be between 1 and 20.")
    photos = selectors.folder_photos(folders)
    combinations = [
        sweeps.Combination(idea, folder, photo)
        for folder in folders
        for photo in photos[folder]
        for idea in ideas
        for _ in range(per_input)
    ]
    if len(combinations) > sweeps.MAX_COMBINATIONS:
        raise OpsError(
            f"That makes {len(combinations)} generations; the limit is {sweeps.MAX_COMBINATIONS} per session."
        )
    return combinations


def sweep_combinations(text: str) -> tuple[sweeps.SweepSpec, list[sweeps.Combination]]:
    try:
        spec = sweeps.parse_sweep(text)
        return spec, sweeps.expand(spec, selectors.folder_photos(spec.folders))
    except sweeps.SweepError as error:
        raise OpsError(error.message) from None


def session_create(
    *,
    owner: User,
    kind: str,
    combinations: list[sweeps.Combination],
    spec: dict,
    channel_id: str = "",
) -> TestSession:
    """Queue one job per combination at operator priority, on the owner's parameter set; everything is
    checked before the first job is queued, so a bad combination queues nothing."""
    if kind not in SessionKind.values:
        raise OpsError(f"Unknown session kind {kind!r}.")
    if not combinations:
        raise OpsError("Nothing to paint: no combination.")
    working = selectors.current_set(owner, WORKING_SET)
    base = dict(working.values) if working else {}
    prepared = []
    faces = selectors.face_photos({(c.folder, c.face) for c in combinations})
    for number, combo in enumerate(combinations, start=1):
        try:
            idea = clean_idea(combo.idea)
        except UploadError as error:
            raise OpsError(f"idea {combo.idea!r}: {error.message}") from None
        params = {**base, **combo.params}
        try:
            GenerationParams.parse(params, defaults=_defaults())
        except ParamError as error:
            raise OpsError(f"combination {number} ({combo.idea}, {combo.params}): {error.message}") from None
        prepared.append((combo, idea, params, faces[(combo.folder, combo.face)]))
    tokens.operator_budget_top_up(user=owner, needed=len(prepared), note=f"{kind} of {len(prepared)}")
    session = TestSession.objects.create(
        operator=owner,
        kind=kind,
        spec=spec,
        production_mode=bool(working and working.production_mode),
        channel_id=channel_id,
    )
    for position, (combo, idea, params, face) in enumerate(prepared):
        with face.image.open("rb") as handle:
            photo = ContentFile(handle.read())
        job = generation.job_submit(owner=owner, idea=idea, face=photo, params=params, role=Role.OPERATOR)
        SessionItem.objects.create(
            session=session, job=job, position=position, face=face, idea=idea, varied=combo.params
        )
    logger.info("ops session queued", extra={"session": session.pk, "kind": kind, "jobs": len(prepared)})
    return session


def session_cancel(*, session: TestSession) -> int:
    """Queued jobs are canceled now (refunded to the operator's account), running ones at their next step."""
    TestSession.objects.filter(pk=session.pk, canceled_at__isnull=True).update(canceled_at=timezone.now())
    live = GenerationJob.objects.filter(
        ops_item__session=session, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    )
    count = 0
    for job in live:
        generation.job_cancel(job=job)
        count += 1
    return count


# ---- productions ----


def production_save(*, job: GenerationJob, operator: User, message_link: str = "") -> tuple[Production, bool]:
    """Keep a result: its image copied to productions/saved/<id>.png with what made it. Saving the same
    result again returns the first production (False: not created)."""
    existing = Production.objects.filter(source_job=job).first()
    if existing is not None:
        return existing, False
    if job.status != JobStatus.SUCCEEDED or not job.result_image:
        raise OpsError(f"Result {str(job.pk)[:8]} is {job.status}: only finished portraits can be saved.")
    item = SessionItem.objects.filter(job=job).select_related("face__folder").first()
    face = item.face if item is not None else None
    try:
        with transaction.atomic():
            production = Production.objects.create(
                source_job=job,
                operator=operator,
                mecene_input=job.idea,
                keywords=generation_selectors.job_keywords(job),
                params=job.params,
                seed=job.params.get("seed"),
                face_folder=face.folder.name if face else "",
                face_file=face.name if face else "",
                identity_score=(job.metadata or {}).get("identity_score"),
                saved_from_message=message_link[:200],
            )
            with job.result_image.open("rb") as handle:
                production.image.save(f"{production.pk}.png", ContentFile(handle.read()), save=True)
    except IntegrityError:  # a second 💾 at the same moment: the first one's production
        return Production.objects.get(source_job=job), False
    logger.info("production saved", extra={"job_id": str(job.pk), "production": production.pk})
    return production, True


def productions_for_finished(*, session: TestSession) -> list[Production]:
    """Production mode: every finished result of the session saved, without waiting for 💾."""
    if not session.production_mode:
        return []
    finished = GenerationJob.objects.filter(
        ops_item__session=session, status=JobStatus.SUCCEEDED, production__isnull=True
    )
    return [production_save(job=job, operator=session.operator)[0] for job in finished]


def item_hide(*, item: SessionItem) -> None:
    """❌: left out of the session's summary."""
    SessionItem.objects.filter(pk=item.pk).update(hidden=True)


# ---- the visitors' defaults ----

PROMOTE_PERMISSION = "discord_ops.promote_parameterset"


def _check_promoter(actor: User) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(PROMOTE_PERMISSION)):
        raise OpsError(
            "Only staff with the 'promote a parameter set' permission can change visitors' defaults."
        )


def visitor_defaults_promote(*, parameter_set: ParameterSet, actor: User, note: str = "") -> VisitorDefaults:
    """Visitors' portraits are painted with this set from now on; the set in force before stays listed,
    for rollback (which promotes it again). Staff with the dedicated permission only."""
    _check_promoter(actor)
    try:
        GenerationParams.parse(parameter_set.values, defaults=_defaults())
    except ParamError as error:
        raise OpsError(f"{parameter_set} is not valid for the models in use: {error.message}") from None
    promotion = VisitorDefaults.objects.create(
        parameter_set=parameter_set, promoted_by=actor, note=note[:200]
    )
    logger.info("visitor defaults promoted", extra={"parameter_set": parameter_set.pk, "actor_id": actor.pk})
    return promotion


def visitor_defaults_rollback(*, actor: User) -> VisitorDefaults | None:
    """Back to the set in force before the current one (None: back to the models' own defaults)."""
    _check_promoter(actor)
    history = list(VisitorDefaults.objects.all()[:2])
    if not history:
        raise OpsError("Visitors already use the models' own defaults.")
    if len(history) == 1:
        history[0].delete()
        logger.info("visitor defaults rolled back to the models' own", extra={"actor_id": actor.pk})
        return None
    return visitor_defaults_promote(parameter_set=history[1].parameter_set, actor=actor, note="rollback")
