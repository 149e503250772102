"""A session's progress as one line of text, and an editor that updates a message with it at most every
MIN_INTERVAL seconds and only when the text changed (Discord rate-limits edits; a terminal needs no
flood either)."""

from __future__ import annotations

import time
from collections.abc import Callable

from apps.discord_ops.selectors import SessionSummary

MIN_INTERVAL = 2.0
BAR_WIDTH = 20


def progress_text(summary: SessionSummary) -> str:
    ended = summary.done + summary.failed + summary.canceled
    filled = round(BAR_WIDTH * ended / summary.total) if summary.total else 0
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    parts = [f"{summary.done} done", f"{summary.running} running", f"{summary.queued} queued"]
    if summary.failed:
        parts.append(f"{summary.failed} failed")
    if summary.canceled:
        parts.append(f"{summary.canceled} canceled")
    eta = f" · about {_duration(summary.eta_seconds)} left" if summary.eta_seconds else ""
    place = ""
    if summary.queue_position is not None:  # its next job, in the whole queue (visitors included)
        place = f" · next job {summary.queue_position + 1} in the queue"
    state = " · finished" if summary.finished else place + eta
    return f"session {summary.session.pk} [{bar}] {ended}/{summary.total} · {', '.join(parts)}{state}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class ProgressEditor:
    """Decides when a progress message is edited: `take(text)` returns the text to show now, or None
    when it is unchanged or MIN_INTERVAL has not passed since the last edit (then it is held back);
    `flush()` returns the text held back, at the end. The caller edits (Discord message or terminal)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.shown: str | None = None
        self.pending: str | None = None
        self.last_edit = float("-inf")

    def take(self, text: str) -> str | None:
        if text == self.shown:
            self.pending = None
            return None
        if self.clock() - self.last_edit < MIN_INTERVAL:
            self.pending = text
            return None
        return self._shown(text)

    def flush(self) -> str | None:
        if self.pending is None or self.pending == self.shown:
            return None
        return self._shown(self.pending)

    def _shown(self, text: str) -> str:
        self.shown, self.pending, self.last_edit = text, None, self.clock()
        return text
