import pytest

from inference.portrait.scheduler import AYS_SDXL_ANCHORS, ays_timesteps, prepare_scheduler


def test_ten_steps_are_the_anchors():
    assert ays_timesteps(10) == list(AYS_SDXL_ANCHORS)


@pytest.mark.parametrize("steps", [2, 3, 5, 7, 11, 20, 25, 30, 50, 100, 150])
def test_any_count_is_strictly_decreasing_from_999_to_13(steps):
    timesteps = ays_timesteps(steps)
    assert len(timesteps) == steps
    assert timesteps[0] == 999 and timesteps[-1] == 13
    assert all(a > b for a, b in zip(timesteps, timesteps[1:], strict=False))


def test_interpolation_is_log_linear_between_anchors():
    # 19 steps put every second point on an anchor; the points between are geometric means.
    timesteps = ays_timesteps(19)
    assert timesteps[::2] == list(AYS_SDXL_ANCHORS)
    assert timesteps[1] == round((999 * 845) ** 0.5)


def test_rejects_zero_steps():
    with pytest.raises(ValueError):
        ays_timesteps(0)


def test_the_diffusers_scheduler_walks_exactly_these_timesteps(tiny_models):
    scheduler = tiny_models.new_scheduler()
    assert prepare_scheduler(scheduler, 12, "cpu") == ays_timesteps(12)
    assert scheduler.timesteps.tolist() == ays_timesteps(12)
    assert len(scheduler.sigmas) == 13 and scheduler.sigmas[-1] == 0
