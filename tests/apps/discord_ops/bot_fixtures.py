"""Shared steps of the bot's tests: sessions with finished results, painted without a worker."""

from __future__ import annotations

import io
import time

from django.core.files.base import ContentFile
from PIL import Image

from apps.discord_ops import services
from apps.discord_ops.models import SessionItem, TestSession
from apps.generation import services as generation
from apps.generation.models import GenerationJob, JobStatus

OPERATOR_ID, STRANGER_ID = 1001, 4242


def finish(job, *, image: bytes | None = None, score: float = 0.81) -> None:
    """The job painted (as a worker ends it): its face as the result unless `image` is given."""
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker_id="w")
    if image is None:
        with job.face_image.open("rb") as handle:
            image = handle.read()
    metadata = {"identity_score": score, "mecene": {"chosen": ["navy suit", "soft light"]}}
    generation.job_succeed(
        job=job, worker_id="w", image=ContentFile(image), prompt="p", negative_prompt="", metadata=metadata
    )


def session_on(channel_id: int, operator, *, per_input: int = 1, ideas=("calm",), user_id=OPERATOR_ID):
    combinations = services.test_faces_combinations(folders=["team"], ideas=list(ideas), per_input=per_input)
    return services.session_create(
        owner=operator,
        kind="test",
        combinations=combinations,
        spec={},
        channel_id=str(channel_id),
        discord_user_id=str(user_id),
    )


def finish_all(session: TestSession, **kwargs) -> None:
    for item in SessionItem.objects.filter(session=session).select_related("job"):
        if item.job.status == JobStatus.QUEUED:
            finish(item.job, **kwargs)


def noise_png(side: int) -> bytes:
    """An uncompressible PNG of side x side pixels (about 3 * side² bytes)."""
    import numpy as np

    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


class FailingWrites:
    """A real database error on every write that sets `column` of `table` to a non-empty value: a trigger
    in the database itself (SQLite or PostgreSQL), as a failing server answers; `heal()` drops it."""

    def __init__(self, table: str, column: str):
        from django.db import connection

        self.table, self.column, self.vendor = table, column, connection.vendor
        self.name = f"narcis_fail_{table}_{column}"[:60]

    def start(self) -> FailingWrites:
        from django.db import connection

        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(
                    f"CREATE FUNCTION {self.name}() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'the database refused the write'; END $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    f"CREATE TRIGGER {self.name} BEFORE UPDATE OF {self.column} ON {self.table} FOR EACH ROW "
                    f"WHEN (NEW.{self.column} IS NOT NULL AND NEW.{self.column}::text <> '') "
                    f"EXECUTE FUNCTION {self.name}()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER {self.name} BEFORE UPDATE OF {self.column} ON {self.table} "
                    f"WHEN NEW.{self.column} IS NOT NULL AND NEW.{self.column} <> '' "
                    "BEGIN SELECT RAISE(ABORT, 'the database refused the write'); END"
                )
        return self

    def heal(self) -> None:
        from django.db import OperationalError, connection

        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {self.name}()")
                return
            # The test database is SQLite's shared-cache memory database: while the bot's loop thread reads,
            # dropping a trigger finds sqlite_master locked (SQLITE_LOCKED, which busy_timeout never waits
            # for). The read ends within a pass; try again until it has.
            for attempt in range(200):
                try:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {self.name}")
                    return
                except OperationalError as error:
                    if "locked" not in str(error) or attempt == 199:
                        raise
                    time.sleep(0.01)
