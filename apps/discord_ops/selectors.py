"""Reads of the operators' console. What a job produced comes from generation's read-model
(generation_selectors.JobOutcome): no join on its columns, no metadata key read here."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max

from apps.discord_ops.errors import OpsError, quoted
from apps.discord_ops.models import (
    FaceFolder,
    FacePhoto,
    ParameterSet,
    SessionItem,
    TestSession,
    VisitorDefaults,
)
from apps.generation import selectors as generation_selectors
from apps.generation.selectors import JobOutcome, JobStatus
from inference.models.presets import default_params
from inference.params import SPECS


def current_set(owner, name: str = "working") -> ParameterSet | None:
    return ParameterSet.objects.filter(owner=owner, name=name).order_by("-version").first()


@dataclass(frozen=True)
class ParamLine:
    name: str
    value: object
    default: object
    changed: bool


def params_overview(owner, name: str = "working") -> tuple[list[ParamLine], bool, int]:
    """(every parameter with its value and default, production mode, version; 0 = never changed)."""
    working = current_set(owner, name)
    values = working.values if working else {}
    defaults = default_params(settings.NARCIS_MODELS_DIR).model_dump()
    lines = [
        ParamLine(n, values.get(n, defaults[n]), defaults[n], n in values and values[n] != defaults[n])
        for n in SPECS
    ]
    return lines, bool(working and working.production_mode), working.version if working else 0


def folder_photos(folders: list[str]) -> dict[str, list[str]]:
    """{folder: its photos' names}; OpsError naming a folder that does not exist or is empty."""
    found = {}
    for name in folders:
        folder = FaceFolder.objects.filter(name=name).first()
        names = list(folder.photos.values_list("name", flat=True)) if folder else []
        if not names:
            known = ", ".join(FaceFolder.objects.values_list("name", flat=True)) or "none yet"
            raise OpsError(f"No face folder {quoted(name)} with photos (folders: {known}).")
        found[name] = names
    return found


def face_photos(keys: set[tuple[str, str]]) -> dict[tuple[str, str], FacePhoto]:
    photos = FacePhoto.objects.filter(folder__name__in={f for f, _ in keys}).select_related("folder")
    return {(p.folder.name, p.name): p for p in photos}


@dataclass
class SessionSummary:
    """A session as the operator sees it: hidden results are left out of every count and figure."""

    session: TestSession
    total: int
    done: int
    running: int
    queued: int
    failed: int
    canceled: int
    eta_seconds: float | None
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, the visitor-facing reason)
    queue_position: int | None = None  # of the session's next job in the whole queue
    best_identity: float | None = None
    first_result_message_id: str = ""
    all_ended: bool = False  # every job of the session, hidden ones included, ended (and there is one)

    @property
    def finished(self) -> bool:
        """Built (every job queued), with at least one job, and each of them ended."""
        return self.session.built_at is not None and self.all_ended


def session_job_ids(session_id: int) -> list:
    return list(SessionItem.objects.filter(session_id=session_id).values_list("job_id", flat=True))


def session_summary(session: TestSession) -> SessionSummary:
    items = list(
        SessionItem.objects.filter(session=session)
        .order_by("position")
        .values_list("position", "job_id", "result_message_id", "hidden")
    )
    outcomes = generation_selectors.job_outcomes(job_id for _, job_id, _, _ in items)
    shown = [(pos, outcomes[job_id], message) for pos, job_id, message, hidden in items if not hidden]
    counts = dict.fromkeys(JobStatus.values, 0)
    for _, outcome, _ in shown:
        counts[outcome.status] += 1
    failures = [
        (pos, outcome.error or "failed") for pos, outcome, _ in shown if outcome.status == JobStatus.FAILED
    ]
    scores = [o.identity_score for _, o, _ in shown if o.identity_score is not None]
    posted = [message for _, outcome, message in shown if message and outcome.succeeded]
    live = [job_id for job_id, o in outcomes.items() if not o.ended]
    return SessionSummary(
        session=session,
        total=len(shown),
        done=counts[JobStatus.SUCCEEDED],
        running=counts[JobStatus.RUNNING],
        queued=counts[JobStatus.QUEUED],
        failed=counts[JobStatus.FAILED],
        canceled=counts[JobStatus.CANCELED],
        eta_seconds=_eta([o for _, o, _ in shown], left=len(live)),
        failures=failures,
        queue_position=generation_selectors.first_queued_position(live) if live else None,
        best_identity=max(scores) if scores else None,
        first_result_message_id=posted[0] if posted else "",
        all_ended=bool(items) and not live,
    )


def _eta(outcomes: list[JobOutcome], *, left: int) -> float | None:
    """Remaining jobs times this session's own recent pace (finished jobs over the time they took)."""
    stamps = sorted(o.finished_at for o in outcomes if o.finished_at is not None)
    if not left or len(stamps) < 2:
        return None
    pace = (stamps[-1] - stamps[0]).total_seconds() / (len(stamps) - 1)
    return round(pace * left, 1)


def sessions_of(owner, *, limit: int = 10):
    return TestSession.objects.filter(operator=owner).order_by("-created_at")[:limit]


def session_of(owner, number: int) -> TestSession | None:
    return TestSession.objects.filter(pk=number, operator=owner).first()


def live_session_count(owner) -> int:
    """The owner's sessions still painting: not canceled, with a queued or running job (or none yet:
    being built)."""
    sessions = TestSession.objects.filter(operator=owner, canceled_at__isnull=True)
    items = SessionItem.objects.filter(session__in=sessions).values_list("session_id", "job_id")
    live_jobs = set(generation_selectors.live_job_ids(job_id for _, job_id in items))
    with_items = {session_id for session_id, _ in items}
    live = {session_id for session_id, job_id in items if job_id in live_jobs}
    empty = set(sessions.exclude(pk__in=with_items).values_list("pk", flat=True))
    return len(live | empty)


def next_position(session_id: int) -> int:
    last = SessionItem.objects.filter(session_id=session_id).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def sessions_to_follow() -> list[TestSession]:
    """Sessions started from Discord, built (every job queued: one still being built, or whose build
    failed, is not followed) and not done with: results to post, or their end still to announce; stalled
    ones are left alone. After a restart the bot picks them up again."""
    return list(
        TestSession.objects.exclude(channel_id="").filter(
            built_at__isnull=False, stalled_at__isnull=True, announced_at__isnull=True
        )
    )


@dataclass(frozen=True)
class ResultCard:
    """One result of a session as the front-ends show it."""

    item_id: int
    session_id: int
    position: int
    idea: str
    face: str  # folder/photo
    varied: dict
    hidden: bool
    message_id: str
    outcome: JobOutcome


def _cards(items) -> list[ResultCard]:
    items = list(items.select_related("face__folder"))
    outcomes = generation_selectors.job_outcomes(item.job_id for item in items)
    return [
        ResultCard(
            item_id=item.pk,
            session_id=item.session_id,
            position=item.position,
            idea=item.idea,
            face=f"{item.face.folder.name}/{item.face.name}" if item.face else "?",
            varied=dict(item.varied or {}),
            hidden=item.hidden,
            message_id=item.result_message_id,
            outcome=outcomes[item.job_id],
        )
        for item in items
        if item.job_id in outcomes
    ]


def unposted_results(session_id: int) -> list[ResultCard]:
    """The session's ended results not posted yet, in order."""
    items = SessionItem.objects.filter(session_id=session_id, result_message_id="").order_by("position")
    return [card for card in _cards(items) if card.outcome.ended]


def results_of(session_id: int, *, exclude_item_ids=()) -> list[ResultCard]:
    items = SessionItem.objects.filter(session_id=session_id).exclude(pk__in=list(exclude_item_ids))
    return _cards(items.order_by("position"))


def result_card(item_id: int) -> ResultCard | None:
    cards = _cards(SessionItem.objects.filter(pk=item_id))
    return cards[0] if cards else None


def visitor_defaults() -> dict:
    """The parameters visitors' portraits are painted with beyond the models' defaults ({} when none
    was promoted); generation asks through job_params.provide_visitor_defaults."""
    current = VisitorDefaults.objects.select_related("parameter_set").first()
    return dict(current.parameter_set.values) if current else {}


def item_of_message(message_id) -> int | None:
    """The session item whose result is this Discord message."""
    return SessionItem.objects.filter(result_message_id=str(message_id)).values_list("pk", flat=True).first()
