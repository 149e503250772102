import pytest
import skimage.data
import torch
from diffusers import EulerDiscreteScheduler
from PIL import Image

from inference.faces import OpenCVFaceAnalyzer
from inference.models import vae
from inference.models.tiny import SCHEDULER_CONFIG
from inference.params import GenerationParams
from inference.portrait.conditioning import build_conditioning
from inference.portrait.images import from_pil
from inference.portrait.masks import face_mask, progressive_masks
from inference.portrait.sampling import GuidedDenoiser, initial_noise, sample_differential
from inference.portrait.scheduler import prepare_scheduler
from inference.portrait.stages.detailing import DetailingStage
from inference.portrait.stages.inputs import StageRequest
from inference.text.encoder import TextEncoder

PARAMS = GenerationParams(detailing_resolution=64, detailing_steps=8, detailing_strength=0.7)


@pytest.fixture(scope="module")
def stage(tiny_models):
    return DetailingStage(tiny_models, OpenCVFaceAnalyzer())


@pytest.fixture(scope="module")
def photos():
    astronaut = Image.fromarray(skimage.data.astronaut())
    coffee = Image.fromarray(skimage.data.coffee()).resize((512, 512))
    return from_pil([astronaut, coffee])


def run_differential(models, original, change, steps=8):
    scheduler = models.new_scheduler()
    prepare_scheduler(scheduler, steps, "cpu")
    cond = build_conditioning(TextEncoder(models), ["portrait"], [""], height=64, width=64)
    noise = initial_noise([3], tuple(original.shape[1:]), device="cpu", dtype=torch.float32)
    keep = progressive_masks(change, steps)[:, :, None]
    with torch.inference_mode():
        return sample_differential(
            GuidedDenoiser(models.unet, scheduler, cond, 5.0),
            original,
            noise,
            scheduler,
            keep,
            guided_until=steps,
        )


class StandIn:
    """A deterministic, nonlinear noise predictor that mixes neighbouring pixels, as a UNet does."""

    def __call__(self, latents, t, *, guided, use_face):
        return torch.tanh(0.5 * latents + float(t) / 1000) + 0.3 * latents.roll(1, dims=-1)


def paper_algorithm_1(model, x0, change, noise, timesteps, alphas_cumprod):
    """Levin & Fried 2023, Algorithm 1, written out literally with the Euler (VE) sampler.

    sigma_t = sqrt((1 - abar_t) / abar_t); the last step goes to sigma 0. Step 0 starts from the original
    noised to sigma_0 everywhere; at every later step i the pixels with (1 - c) > i / N are reset to the
    original noised to sigma_i before the model call; no blend after the last step.
    """
    n = len(timesteps)
    sigmas = [float(((1 - alphas_cumprod[t]) / alphas_cumprod[t]) ** 0.5) for t in timesteps] + [0.0]
    x = None
    for i, t in enumerate(timesteps):
        noised_original = x0 + noise * sigmas[i]
        if i == 0:
            x = noised_original
        else:
            kept = ((1 - change) > i / n)[:, None]
            x = torch.where(kept, noised_original, x)
        eps = model(x, torch.tensor(t), guided=False, use_face=True)
        x = x + (sigmas[i + 1] - sigmas[i]) * eps
    return x


def ours(x0, change, noise, timesteps):
    scheduler = EulerDiscreteScheduler(**SCHEDULER_CONFIG)
    scheduler.set_timesteps(timesteps=timesteps)
    keep = progressive_masks(change, len(timesteps))[:, :, None]
    return sample_differential(StandIn(), x0, noise, scheduler, keep, guided_until=0)


def graded_map(peak: float) -> torch.Tensor:
    """[2, 6, 6] change maps rising from 0 at the left edge to `peak` at the right (a face mask's slope)."""
    ramp = torch.linspace(0.0, peak, 6).expand(6, 6)
    return torch.stack([ramp, ramp.flip(-1)])


@pytest.mark.parametrize(
    ("peak", "timesteps", "first_release"),
    [
        (0.8, [999, 850, 700, 550, 400, 250, 120, 40], 2),  # early: nothing released at step 0
        (0.5, [999, 880, 760, 640, 520, 400, 300, 200, 110, 30], 5),  # strength 0.5: released mid-schedule
    ],
)
def test_sampler_equals_the_papers_algorithm(peak, timesteps, first_release):
    change = graded_map(peak)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 4, 6, 6, generator=generator)
    noise = torch.randn(2, 4, 6, 6, generator=generator)
    releases = [bool(((1 - change) <= i / len(timesteps)).any()) for i in range(len(timesteps))]
    assert releases.index(True) == first_release
    alphas_cumprod = EulerDiscreteScheduler(**SCHEDULER_CONFIG).alphas_cumprod.double()

    expected = paper_algorithm_1(StandIn(), x0, change, noise, timesteps, alphas_cumprod)
    assert torch.allclose(ours(x0, change, noise, timesteps), expected, atol=1e-5, rtol=0)


def test_a_map_that_never_releases_still_runs_the_last_step_as_the_paper_does():
    timesteps = [999, 700, 400, 100]
    change = torch.zeros(1, 4, 4)
    generator = torch.Generator().manual_seed(1)
    x0, noise = torch.randn(1, 4, 4, 4, generator=generator), torch.randn(1, 4, 4, 4, generator=generator)
    alphas_cumprod = EulerDiscreteScheduler(**SCHEDULER_CONFIG).alphas_cumprod.double()
    expected = paper_algorithm_1(StandIn(), x0, change, noise, timesteps, alphas_cumprod)
    assert torch.allclose(ours(x0, change, noise, timesteps), expected, atol=1e-5, rtol=0)


def test_only_the_calls_the_result_does_not_need_are_skipped():
    calls = []

    class Counting(StandIn):
        def __call__(self, latents, t, **kwargs):
            calls.append(int(t))
            return super().__call__(latents, t, **kwargs)

    timesteps = [999, 880, 760, 640, 520, 400, 300, 200, 110, 30]
    scheduler = EulerDiscreteScheduler(**SCHEDULER_CONFIG)
    scheduler.set_timesteps(timesteps=timesteps)
    keep = progressive_masks(torch.full((1, 2, 2), 0.3), 10)[:, :, None]  # released from step 7
    zeros = torch.zeros(1, 4, 2, 2)
    sample_differential(Counting(), zeros, zeros, scheduler, keep, guided_until=0)
    assert calls == timesteps[6:]  # steps 0..5 would be reset entirely; step 6 feeds step 7's pixels


def test_map_zero_stays_near_the_original_map_one_repaints(tiny_models, photos):
    crop = torch.nn.functional.interpolate(photos[:1], size=(64, 64), mode="area")
    original = vae.encode(tiny_models.vae, crop)
    change = torch.zeros(1, 8, 8)
    change[:, :, 4:] = 1.0  # repaint the right half only
    latents = run_differential(tiny_models, original, change)
    kept, repainted = (latents - original)[..., :4].abs().mean(), (latents - original)[..., 4:].abs().mean()
    assert repainted > 0.1 and kept < repainted / 5  # the kept half ends one Euler step from the original
    # In pixels the whole repainted picture differs, because the decoder's GroupNorm sees every latent;
    # the stage keeps the rest of the photo exact by pasting back through the face mask (tested below).
    assert (vae.decode(tiny_models.vae, latents) - vae.decode(tiny_models.vae, original)).abs().mean() > 0.01


def test_detailing_repaints_the_face_and_nothing_else(stage, photos):
    seen = []
    result = stage.run(
        photos[:1], [StageRequest("portrait of a woman", seed=1)], PARAMS, on_progress=seen.append
    )
    x0, y0, x1, y1 = result.boxes[0]
    assert x0 < result.faces[0].bbox[0] and result.faces[0].bbox[2] < x1
    changed = (result.images[0] - photos[0]).abs().amax(dim=0) > 0
    assert changed.any()
    ys, xs = torch.nonzero(changed, as_tuple=True)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
    outside = torch.from_numpy(face_mask(*photos.shape[-2:], result.faces[0])) == 0
    assert outside.any() and torch.equal(result.images[0][:, outside], photos[0][:, outside])
    assert seen and seen[-1].stage == "detailing" and seen[-1].step == seen[-1].total


def test_all_faces_share_one_unet_batch_and_a_faceless_image_is_reported(stage, tiny_models, photos):
    batch = torch.cat([photos[:1], photos[:1], photos[1:]])
    sizes = []
    handle = tiny_models.unet.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    try:
        result = stage.run(batch, [StageRequest("portrait", seed=s) for s in range(3)], PARAMS)
    finally:
        handle.remove()
    assert set(sizes) <= {4, 2} and sizes[0] == 4  # two faces, guided: [neg x 2, pos x 2]
    assert list(result.errors) == [2] and result.errors[2].code == "no_face"
    assert torch.equal(result.images[2], batch[2]) and result.boxes[2] is None
