"""A worker told to stop (SIGTERM: a spot interruption notice, a deploy) has until the task's stop deadline
before it is killed. It finishes the batch in hand when that batch can end in time; otherwise it hands the
jobs back at once, so that another worker starts them now instead of after their leases expire.

Whether the batch ends in time is estimated from the pace of its own steps: the current stage's
remaining steps at the pace seen so far, plus, during the first stage, the detailing stage at that pace
scaled by its pixel count (its step count is an upper bound: the strength skips some), plus a fixed
allowance for decoding and storing the results.
"""

from __future__ import annotations

import threading
import time

from inference.params import GenerationParams
from inference.portrait.stages.base import STAGE as BASE_STAGE

FINISH_ALLOWANCE_S = 5.0  # VAE decode, identity score, PNG upload and the row's update, per batch


class StopDeadline:
    """The moment this worker's process will be killed, once it has been told to stop."""

    def __init__(self, grace_seconds: float):
        self.grace_seconds = grace_seconds
        self.stopping = threading.Event()
        self.kill_at: float | None = None  # time.monotonic()

    def begin(self) -> None:
        """Called from the SIGTERM handler: stop claiming, and the clock starts."""
        if self.kill_at is None:
            self.kill_at = time.monotonic() + self.grace_seconds
        self.stopping.set()

    def seconds_left(self, now: float | None = None) -> float | None:
        if self.kill_at is None:
            return None
        return self.kill_at - (time.monotonic() if now is None else now)


class BatchPace:
    """The pace of the batch being painted, from its progress updates (every request of a batch reports
    the same step, so any one of them will do)."""

    def __init__(self, params: GenerationParams):
        self.params = params
        self._stage_start: dict[str, tuple[float, int]] = {}  # stage -> (time, step) at first sight
        self._at: tuple[str, int, int, float] | None = None  # stage, step, total, time of the latest update

    def observe(self, stage: str, step: int, total: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._stage_start.setdefault(stage, (now, step))
        self._at = (stage, step, total, now)

    def seconds_to_finish(self) -> float | None:
        """None until two steps of the current stage have been seen (no pace yet)."""
        if self._at is None:
            return None
        stage, step, total, now = self._at
        first_seen, first_step = self._stage_start[stage]
        if step <= first_step:
            return None
        per_step = (now - first_seen) / (step - first_step)
        remaining = (total - step) * per_step
        if stage == BASE_STAGE:
            p = self.params
            pixels = p.detailing_resolution**2 / (p.width * p.height)
            remaining += p.detailing_steps * per_step * pixels
        return remaining + FINISH_ALLOWANCE_S


def must_hand_back(deadline: StopDeadline, pace: BatchPace) -> bool:
    """True once the worker was told to stop and the batch cannot end before the kill; without a pace
    yet, only when even the finishing allowance no longer fits."""
    left = deadline.seconds_left()
    if left is None:
        return False
    needed = pace.seconds_to_finish()
    return left < (FINISH_ALLOWANCE_S if needed is None else needed)
