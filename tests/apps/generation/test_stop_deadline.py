"""The stop-deadline estimate, against figures worked out by hand (not with the module's own formulas)."""

from __future__ import annotations

import time

import pytest

from apps.generation.stop_deadline import BatchPace, StopDeadline, must_hand_back
from inference.params import GenerationParams

PARAMS = GenerationParams(width=256, height=256, steps=40, detailing_steps=20, detailing_resolution=512)


def paced(*updates: tuple[str, int, float]) -> BatchPace:
    pace = BatchPace(PARAMS)
    for stage, step, at in updates:
        pace.observe(stage, step, 40 if stage == "base" else 20, now=at)
    return pace


def deadline_with(seconds_left: float) -> StopDeadline:
    deadline = StopDeadline(grace_seconds=seconds_left)
    deadline.begin()
    return deadline


def test_first_stage_remaining_steps_plus_detailing_at_four_times_the_pixels_plus_finishing():
    # Steps 1 → 5 in 2 s: 0.5 s a step. 35 base steps left: 17.5 s. Detailing: 20 steps on 512² against
    # 256² (4x the pixels): 20 x 0.5 x 4 = 40 s. Finishing: 5 s. In all 62.5 s.
    pace = paced(("base", 1, 100.0), ("base", 3, 101.0), ("base", 5, 102.0))
    assert pace.seconds_to_finish() == pytest.approx(62.5)


def test_during_detailing_only_its_own_remaining_steps_count():
    # Detailing steps 2 → 6 in 8 s: 2 s a step; 14 left: 28 s, plus 5 s finishing.
    pace = paced(("base", 40, 90.0), ("detailing", 2, 100.0), ("detailing", 6, 108.0))
    assert pace.seconds_to_finish() == pytest.approx(33.0)


def test_no_pace_before_a_second_step_of_the_stage():
    assert paced().seconds_to_finish() is None
    assert paced(("base", 1, 100.0)).seconds_to_finish() is None
    assert paced(("base", 1, 100.0), ("base", 1, 100.5)).seconds_to_finish() is None  # another row, same step


def test_hands_back_only_when_the_estimate_overruns_what_is_left():
    pace = paced(("base", 1, 100.0), ("base", 5, 102.0))  # 62.5 s to finish, as above
    assert not must_hand_back(StopDeadline(grace_seconds=1), pace)  # not told to stop: never
    assert must_hand_back(deadline_with(60.0), pace)
    assert not must_hand_back(deadline_with(65.0), pace)


def test_without_a_pace_it_waits_until_only_the_finishing_allowance_is_left():
    pace = paced(("base", 1, 100.0))
    assert not must_hand_back(deadline_with(30.0), pace)
    assert must_hand_back(deadline_with(4.0), pace)


def test_the_clock_starts_at_the_first_signal_only():
    deadline = StopDeadline(grace_seconds=110)
    assert deadline.seconds_left() is None and not deadline.stopping.is_set()
    deadline.begin()
    first = deadline.kill_at
    time.sleep(0.01)
    deadline.begin()  # a second SIGTERM (or SIGINT) does not move the kill
    assert deadline.kill_at == first and deadline.stopping.is_set()
    assert 109 < deadline.seconds_left() <= 110
