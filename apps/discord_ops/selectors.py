"""Reads of the operators' console."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q

from apps.discord_ops.errors import OpsError
from apps.discord_ops.models import (
    FaceFolder,
    FacePhoto,
    ParameterSet,
    SessionItem,
    TestSession,
    VisitorDefaults,
)
from apps.generation.models import JobStatus
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
            raise OpsError(f"No face folder {name!r} with photos (folders: {known}).")
        found[name] = names
    return found


def face_photos(keys: set[tuple[str, str]]) -> dict[tuple[str, str], FacePhoto]:
    photos = FacePhoto.objects.filter(folder__name__in={f for f, _ in keys}).select_related("folder")
    return {(p.folder.name, p.name): p for p in photos}


@dataclass
class SessionSummary:
    session: TestSession
    total: int
    done: int
    running: int
    queued: int
    failed: int
    canceled: int
    eta_seconds: float | None
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, the visitor-facing reason)

    @property
    def finished(self) -> bool:
        return self.done + self.failed + self.canceled == self.total


def session_summary(session: TestSession) -> SessionSummary:
    items = SessionItem.objects.filter(session=session)
    counts = items.aggregate(
        total=Count("pk"),
        done=Count("pk", filter=Q(job__status=JobStatus.SUCCEEDED)),
        running=Count("pk", filter=Q(job__status=JobStatus.RUNNING)),
        queued=Count("pk", filter=Q(job__status=JobStatus.QUEUED)),
        failed=Count("pk", filter=Q(job__status=JobStatus.FAILED)),
        canceled=Count("pk", filter=Q(job__status=JobStatus.CANCELED)),
    )
    failures = [
        (position, message or "failed")
        for position, message in items.filter(job__status=JobStatus.FAILED).values_list(
            "position", "job__error_message"
        )
    ]
    return SessionSummary(session=session, eta_seconds=_eta(items, counts), failures=failures, **counts)


def _eta(items, counts: dict) -> float | None:
    """Remaining jobs times this session's own recent pace (finished jobs over the time they took)."""
    left = counts["running"] + counts["queued"]
    finished = items.filter(job__finished_at__isnull=False).values_list("job__finished_at", flat=True)
    stamps = sorted(finished)
    if not left or len(stamps) < 2:
        return None
    pace = (stamps[-1] - stamps[0]).total_seconds() / (len(stamps) - 1)
    return round(pace * left, 1)


def sessions_of(owner, *, limit: int = 10):
    return TestSession.objects.filter(operator=owner).order_by("-created_at")[:limit]


def sessions_to_follow():
    """Sessions started from Discord whose jobs are still queued or running, or whose results are not
    all posted yet: after a restart the bot picks them up again and keeps editing their progress message."""
    unfinished = SessionItem.objects.filter(
        Q(job__status__in=[JobStatus.QUEUED, JobStatus.RUNNING]) | Q(result_message_id="")
    )
    return TestSession.objects.exclude(channel_id="").filter(pk__in=unfinished.values("session_id"))


def visitor_defaults() -> dict:
    """The parameters visitors' portraits are painted with beyond the models' defaults ({} when none
    was promoted); generation asks through job_params.provide_visitor_defaults."""
    current = VisitorDefaults.objects.select_related("parameter_set").first()
    return dict(current.parameter_set.values) if current else {}
