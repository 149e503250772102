"""The samplers with a plain callable for a model, as k-diffusion's are tested: no UNet needed."""

import pytest
import torch
from diffusers import EulerDiscreteScheduler

from inference.models.tiny import SCHEDULER_CONFIG
from inference.params import GenerationParams
from inference.portrait.sampling import ActiveRows, guided_until, initial_noise, sample_guided
from inference.portrait.scheduler import prepare_scheduler
from inference.portrait.stages.inputs import unguided_fraction


@pytest.mark.parametrize("steps,expected", [(10, 8), (25, 20), (30, 24), (4, 3), (1, 1)])
def test_guided_until_leaves_the_last_fifth_unguided(steps, expected):
    assert guided_until(steps, 5.0, 0.2) == expected
    assert guided_until(steps, 5.0, 0.0) == steps
    assert guided_until(steps, 1.0, 0.2) == 0


@pytest.mark.parametrize(
    "params,fraction",
    [
        (GenerationParams(), 0.2),
        (GenerationParams(adaptive_guidance=False), 0.0),
        (GenerationParams(unguided_fraction=0.3), 0.3),
    ],
)
def test_the_stages_read_the_unguided_share_from_the_parameters(params, fraction):
    assert unguided_fraction(params) == fraction


class Recorder:
    """A stand-in denoiser: remembers each call's batch and flags, predicts a little noise."""

    def __init__(self, calls=None):
        self.calls = [] if calls is None else calls

    def __call__(self, latents, t, *, guided, use_face):
        self.calls.append((latents.shape[0], guided, use_face))
        return 0.1 * latents

    def select(self, positions):
        return Recorder(self.calls)


def euler(steps: int) -> EulerDiscreteScheduler:
    scheduler = EulerDiscreteScheduler(**SCHEDULER_CONFIG)
    prepare_scheduler(scheduler, steps, "cpu")
    return scheduler


def test_guidance_stops_at_guided_until_and_the_face_path_starts_after_text_until():
    model, seen = Recorder(), []
    latents = initial_noise([1, 2], (4, 2, 2), device="cpu", dtype=torch.float32)
    sample_guided(model, latents, euler(5), guided_until=3, text_until=1, callback=seen.append)
    assert [(guided, face) for _, guided, face in model.calls] == [
        (True, False),
        (True, False),
        (True, True),
        (False, True),
        (False, True),
    ]
    assert [(p.stage, p.step, p.total, p.rows) for p in seen] == [
        ("guided", i, 5, (0, 1)) for i in range(1, 6)
    ]


def test_a_cancelled_row_leaves_the_batch_and_the_rest_keep_their_latents():
    latents = initial_noise([1, 2, 3], (4, 2, 2), device="cpu", dtype=torch.float32)
    alone = sample_guided(Recorder(), latents[[0, 2]], euler(4), guided_until=0, text_until=0)
    model, steps = Recorder(), []
    rows = ActiveRows(3, is_cancelled=lambda row: row == 1 and len(steps) >= 2)
    kept = sample_guided(
        model, latents, euler(4), guided_until=0, text_until=0, callback=steps.append, rows=rows
    )
    assert [batch for batch, _, _ in model.calls] == [3, 3, 2, 2]
    assert rows.rows == [0, 2] and [p.rows for p in steps][1:3] == [(0, 1, 2), (0, 2)]
    assert torch.equal(kept, alone)  # the stand-in treats rows independently: nothing else changed


def test_every_row_cancelled_stops_the_run():
    model = Recorder()
    latents = initial_noise([1], (4, 2, 2), device="cpu", dtype=torch.float32)
    rows = ActiveRows(1, is_cancelled=lambda row: True)
    out = sample_guided(model, latents, euler(4), guided_until=0, text_until=0, rows=rows)
    assert out.shape[0] == 0 and len(model.calls) == 1
