"""Stage 1 against a reference nobody here wrote: diffusers' StableDiffusionXLPipeline."""

import io

import pytest
import torch
from PIL import Image

from inference.bench import reference_pipeline
from inference.params import GenerationParams
from inference.portrait.scheduler import ays_timesteps
from inference.portrait.stages.base import BaseStage
from inference.portrait.stages.inputs import StageRequest
from inference.text.encoder import TextEncoder

PROMPT, NEGATIVE = "portrait of a woman, oil painting, dramatic light", "blurry, low quality"
SMALL = dict(width=64, height=64, start_merge_step=0)


@pytest.fixture(scope="module")
def stage(tiny_models):
    return BaseStage(tiny_models)


@pytest.fixture(scope="module")
def reference(tiny_models):
    return reference_pipeline(tiny_models)


class UNetSpy:
    """Records the batch size and text conditioning of every UNet call, then calls the real UNet."""

    def __init__(self, unet):
        self.unet, self.calls = unet, []

    def __enter__(self):
        self.handle = self.unet.register_forward_pre_hook(self._record, with_kwargs=True)
        return self

    def __exit__(self, *exc):
        self.handle.remove()

    def _record(self, module, args, kwargs):
        self.calls.append((args[0].shape[0], kwargs["encoder_hidden_states"].clone()))


@pytest.mark.parametrize("negative", [NEGATIVE, ""])
def test_same_image_as_diffusers_with_adaptive_guidance_off(stage, reference, negative):
    params = GenerationParams(**SMALL, steps=8, guidance_scale=6.0, adaptive_guidance=False)
    ours = stage.run([StageRequest(PROMPT, negative, seed=11)], params).images
    theirs = reference(
        prompt=PROMPT,
        negative_prompt=negative or None,
        timesteps=ays_timesteps(8),
        guidance_scale=6.0,
        generator=torch.Generator("cpu").manual_seed(11),
        output_type="pt",
        **SMALL,
    ).images
    assert ours.shape == theirs.shape == (1, 3, 64, 64)
    assert (ours - theirs).abs().max().item() < 1e-4


def test_a_batch_gives_the_same_images_as_each_request_alone(stage):
    params = GenerationParams(**SMALL, steps=4)
    requests = [StageRequest(PROMPT, seed=1), StageRequest("a man in a suit", NEGATIVE, seed=2)]
    together = stage.run(requests, params).images
    for i, request in enumerate(requests):
        alone = stage.run([request], params).images
        assert (together[i] - alone[0]).abs().max().item() < 1e-4
    assert (together[0] - together[1]).abs().max().item() > 1e-2


def test_the_same_seed_repeats_and_another_differs(stage):
    params = GenerationParams(**SMALL, steps=3)
    a, b, c = (stage.run([StageRequest(PROMPT, seed=s)], params).images for s in (5, 5, 6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_adaptive_guidance_drops_the_unconditional_half_in_the_last_fifth(stage, tiny_models):
    params = GenerationParams(**SMALL, steps=10, guidance_scale=5.0, adaptive_guidance=True)
    with UNetSpy(tiny_models.unet) as spy:
        stage.run([StageRequest(PROMPT, seed=1), StageRequest(PROMPT, seed=2)], params)
    assert [batch for batch, _ in spy.calls] == [4] * 8 + [2] * 2


def test_without_adaptive_guidance_every_step_is_guided(stage, tiny_models):
    params = GenerationParams(**SMALL, steps=5, adaptive_guidance=False)
    with UNetSpy(tiny_models.unet) as spy:
        stage.run([StageRequest(PROMPT, seed=1)], params)
    assert [batch for batch, _ in spy.calls] == [2] * 5


def test_guidance_scale_one_never_runs_the_negative_half(stage, tiny_models):
    params = GenerationParams(**SMALL, steps=4, guidance_scale=1.0)
    with UNetSpy(tiny_models.unet) as spy:
        stage.run([StageRequest(PROMPT, seed=1)], params)
    assert [batch for batch, _ in spy.calls] == [1] * 4


def test_text_path_up_to_start_merge_step_face_path_after_it(stage, tiny_models):
    face = TextEncoder(tiny_models).encode(["a stand-in for the identity-fused prompt"])
    params = GenerationParams(**{**SMALL, "start_merge_step": 2}, steps=6, adaptive_guidance=False)
    text = TextEncoder(tiny_models).encode([PROMPT])
    with UNetSpy(tiny_models.unet) as spy:
        stage.run([StageRequest(PROMPT, seed=1, face=face)], params)
    positives = [hidden[1] for _, hidden in spy.calls]  # row 1 = the positive half of [neg, pos]
    assert all(
        torch.equal(p, text.embeds[0]) for p in positives[:3]
    )  # steps 0..start_merge_step (PhotoMaker: i <= 2)
    assert all(torch.equal(p, face.embeds[0]) for p in positives[3:])


def test_progress_is_reported_every_step_with_a_cheap_preview(stage):
    seen = []
    stage.run([StageRequest(PROMPT, seed=1)], GenerationParams(**SMALL, steps=5), on_progress=seen.append)
    assert [(p.stage, p.step, p.total) for p in seen] == [("base", i, 5) for i in range(1, 6)]
    assert seen[-1].percent == 100.0
    preview = Image.open(io.BytesIO(seen[2].preview(max_side=128)))
    assert preview.format == "JPEG" and max(preview.size) <= 128


def test_a_request_cancelled_between_steps_leaves_the_unet_batch(stage, tiny_models):
    params = GenerationParams(**SMALL, steps=6, adaptive_guidance=False)
    requests = [StageRequest(PROMPT, seed=1), StageRequest(PROMPT, seed=2), StageRequest(PROMPT, seed=3)]
    steps_done = []

    def cancelled(row: int) -> bool:
        return row == 1 and len(steps_done) >= 2  # cancel request 1 after its second step

    with UNetSpy(tiny_models.unet) as spy:
        result = stage.run(requests, params, on_progress=steps_done.append, is_cancelled=cancelled)
    assert [batch for batch, _ in spy.calls] == [6, 6, 4, 4, 4, 4]
    assert result.rows == [0, 2] and result.images.shape[0] == 2
    # The survivors are untouched by their neighbour leaving.
    alone = stage.run([requests[2]], params).images
    assert (result.images[1] - alone[0]).abs().max().item() < 1e-4


def test_cancelling_everything_returns_no_images(stage):
    result = stage.run(
        [StageRequest(PROMPT)], GenerationParams(**SMALL, steps=3), is_cancelled=lambda row: True
    )
    assert result.rows == [] and result.images.shape == (0, 3, 64, 64)
