"""Test sessions and sweeps: combinations in, one job per combination out; and what the bot records while
it follows a session (posted results, its progress message, failed passes, the end)."""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.discord_ops import selectors, sweeps
from apps.discord_ops.errors import OpsError, quoted
from apps.discord_ops.models import SessionItem, SessionKind, TestSession
from apps.discord_ops.services.parameter_sets import WORKING_SET, defaults_in_use
from apps.generation import selectors as generation_selectors
from apps.generation import services as generation
from apps.generation.uploads import UploadError, clean_idea
from apps.sessions_tokens import services as tokens
from inference.params import MAX_SEED, SPECS, GenerationParams, ParamError, Role

logger = logging.getLogger("narcis.ops")

STALL_AFTER_FAILED_PASSES = 10  # the bot's passes (2 s apart) failing in a row before the session is stalled


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


def _prepare(owner, combinations: list[sweeps.Combination]) -> list[tuple]:
    """Every combination checked (idea, parameters over the owner's set) before anything is queued; its
    parameters validated here, once, into the GenerationParams its job stores as they are."""
    working = selectors.current_set(owner, WORKING_SET)
    base = dict(working.values) if working else {}
    faces = selectors.face_photos({(c.folder, c.face) for c in combinations})
    prepared = []
    for number, combo in enumerate(combinations, start=1):
        try:
            idea = clean_idea(combo.idea)
        except UploadError as error:
            raise OpsError(f"idea {quoted(combo.idea)}: {error.message}") from None
        try:
            params = GenerationParams.parse({**base, **combo.params}, defaults=defaults_in_use())
        except ParamError as error:
            raise OpsError(f"combination {number} ({combo.idea}, {combo.params}): {error.message}") from None
        prepared.append((combo, idea, params, faces[(combo.folder, combo.face)]))
    return prepared


def _refuse_over_cap(owner) -> None:
    """OpsError when the owner already has settings.MAX_LIVE_SESSIONS sessions still painting."""
    live, cap = selectors.live_session_count(owner), settings.MAX_LIVE_SESSIONS
    if live >= cap:
        raise OpsError(
            f"You have {live} sessions still running (at most {cap}): wait for one to finish or /cancel one."
        )


def _open_session(owner, **fields) -> TestSession:
    """The session row, once the owner's live sessions are under the cap: decided in the transaction that
    creates it, the owner's row locked so two commands at once cannot both pass. Not built yet
    (built_at empty): the bot does not follow it, and it cannot be "finished" with no job."""
    with transaction.atomic():
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
        _refuse_over_cap(owner)
        return TestSession.objects.create(operator=owner, **fields)


def session_create(
    *,
    owner,
    kind: str,
    combinations: list[sweeps.Combination],
    spec: dict,
    channel_id: str = "",
    discord_user_id: str = "",
    progress_message_id: str = "",
) -> TestSession:
    """Queue one job per combination at operator priority, on the owner's parameter set; everything is
    checked before the first job is queued, so a bad combination queues nothing."""
    if kind not in SessionKind.values:
        raise OpsError(f"Unknown session kind {quoted(kind)}.")
    if not combinations:
        raise OpsError("Nothing to paint: no combination.")
    _refuse_over_cap(owner)  # cheap, before the checks of every combination and the top-up
    prepared = _prepare(owner, combinations)
    working = selectors.current_set(owner, WORKING_SET)
    tokens.operator_budget_top_up(user=owner, needed=len(prepared), note=f"{kind} of {len(prepared)}")
    session = _open_session(
        owner,
        kind=kind,
        spec=spec,
        production_mode=bool(working and working.production_mode),
        channel_id=channel_id,
        discord_user_id=discord_user_id,
        progress_message_id=progress_message_id,
    )
    photos: dict[int, bytes] = {}  # each face read once, not once per job
    try:
        for position, (combo, idea, params, face) in enumerate(prepared):
            if face.pk not in photos:
                with face.image.open("rb") as handle:
                    photos[face.pk] = handle.read()
            _queue_item(session, owner, position, face, idea, params, combo.params, photos[face.pk])
    except BaseException:
        session_cancel(session=session)  # what was queued goes back; the session counts no more
        raise
    session.built_at = timezone.now()
    TestSession.objects.filter(pk=session.pk).update(built_at=session.built_at)
    logger.info("ops session queued", extra={"session": session.pk, "kind": kind, "jobs": len(prepared)})
    return session


def _queue_item(session, owner, position, face, idea, params, varied, photo: bytes) -> SessionItem:
    job = generation.job_submit(
        owner=owner, idea=idea, face=ContentFile(photo), params=params, role=Role.OPERATOR
    )
    return SessionItem.objects.create(
        session=session, job=job, position=position, face=face, idea=idea, varied=varied
    )


def session_cancel(*, session: TestSession) -> int:
    """Queued jobs are canceled now (refunded to the operator's account), running ones at their next step."""
    TestSession.objects.filter(pk=session.pk, canceled_at__isnull=True).update(canceled_at=timezone.now())
    live = generation_selectors.live_job_ids(selectors.session_job_ids(session.pk))
    for job in generation_selectors.jobs_by_ids(live):
        generation.job_cancel(job=job)
    return len(live)


def session_cancel_by_number(*, number: int, owner) -> int:
    """/cancel and `ops cancel`: only the owner's own session."""
    session = selectors.session_of(owner, number)
    if session is None:
        raise OpsError(f"You have no session {number}.")
    return session_cancel(session=session)


def item_rerun(*, item_id: int, operator, with_working_set: bool) -> SessionItem:
    """Reroll (the same inputs, a new seed) or Rerun with the operator's current set: one more job in the
    same session, followed and posted like the others."""
    item = SessionItem.objects.select_related("session", "face").filter(pk=item_id).first()
    if item is None or item.face is None:
        raise OpsError("That result's face is gone: it cannot be painted again.")
    outcome = generation_selectors.job_outcomes([item.job_id])[item.job_id]
    if with_working_set:
        working = selectors.current_set(operator, WORKING_SET)
        params = {**(working.values if working else {})}
    else:
        params = {k: v for k, v in outcome.params.items() if k in SPECS}
    params["seed"] = params.get("seed") if with_working_set and "seed" in params else _new_seed(outcome.seed)
    tokens.operator_budget_top_up(user=operator, needed=1, note=f"rerun of item {item.pk}")
    with item.face.image.open("rb") as handle:
        photo = handle.read()
    position = selectors.next_position(item.session_id)
    # A session whose end was announced is followed again: the new result is posted, the end told anew.
    TestSession.objects.filter(pk=item.session_id).update(announced_at=None)
    return _queue_item(
        item.session, operator, position, item.face, item.idea, params, {"seed": params["seed"]}, photo
    )


def _new_seed(old: int | None) -> int:
    """A seed within the catalogue's bounds, never the old one."""
    seed = random.randint(0, MAX_SEED)
    return seed if seed != old else (seed + 1) % (MAX_SEED + 1)


def item_hide(*, item) -> None:
    """Hide (the button, ❌): left out of the session's summary."""
    SessionItem.objects.filter(pk=getattr(item, "pk", item)).update(hidden=True)


# ---- what the bot records while following a session ----


def result_posted(*, item_id: int, message_id: int | str) -> None:
    """Recorded the moment the result's message exists: it is never posted again."""
    SessionItem.objects.filter(pk=item_id).update(result_message_id=str(message_id))


def progress_message_set(*, session_id: int, message_id: int | str) -> None:
    TestSession.objects.filter(pk=session_id).update(progress_message_id=str(message_id))


def session_pass_succeeded(*, session_id: int) -> None:
    TestSession.objects.filter(pk=session_id, failed_passes__gt=0).update(failed_passes=0)


def session_pass_failed(*, session_id: int, reason: str) -> bool:
    """One more failed pass; True when this one stalls the session (STALL_AFTER_FAILED_PASSES in a row)."""
    TestSession.objects.filter(pk=session_id).update(failed_passes=F("failed_passes") + 1)
    failed = TestSession.objects.values_list("failed_passes", flat=True).get(pk=session_id)
    return failed >= STALL_AFTER_FAILED_PASSES and session_stall(session_id=session_id, reason=reason)


def session_stall(*, session_id: int, reason: str) -> bool:
    """No longer followed; True the first time (the operator is told once)."""
    stalled = TestSession.objects.filter(pk=session_id, stalled_at__isnull=True).update(
        stalled_at=timezone.now(), stall_reason=reason[:300]
    )
    if stalled:
        logger.warning("ops session stalled", extra={"session": session_id, "reason": reason[:300]})
    return bool(stalled)


def session_announced(*, session_id: int) -> bool:
    """The end was announced; True the first time only."""
    return bool(
        TestSession.objects.filter(pk=session_id, announced_at__isnull=True).update(
            announced_at=timezone.now()
        )
    )
