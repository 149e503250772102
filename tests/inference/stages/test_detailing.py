import pytest
import skimage.data
import torch
from PIL import Image

from inference import vae
from inference.conditioning import TextEncoder, build_conditioning
from inference.faces import OpenCVFaceAnalyzer
from inference.images import from_pil
from inference.masks import progressive_masks
from inference.scheduler import prepare_scheduler
from inference.stages.base import GuidedDenoiser, initial_noise
from inference.stages.detailing import (
    DetailingStage,
    DetailParams,
    DetailRequest,
    first_active_step,
    sample_differential,
)

PARAMS = DetailParams(resolution=64, steps=8, strength=0.7)


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


def test_map_zero_keeps_the_original_map_one_repaints(tiny_models, photos):
    crop = torch.nn.functional.interpolate(photos[:1], size=(64, 64), mode="area")
    original = vae.encode(tiny_models.vae, crop)
    change = torch.zeros(1, 8, 8)
    change[:, :, 4:] = 1.0  # repaint the right half only
    latents = run_differential(tiny_models, original, change)
    assert torch.equal(latents[..., :4], original[..., :4])  # never released: the original latents
    assert (latents[..., 4:] - original[..., 4:]).abs().mean() > 0.1
    # In pixels the whole repainted picture differs, because the decoder's GroupNorm sees every latent;
    # the stage keeps the rest of the photo exact by pasting back through the face mask (tested below).
    assert (vae.decode(tiny_models.vae, latents) - vae.decode(tiny_models.vae, original)).abs().mean() > 0.01


def test_steps_before_the_first_release_are_skipped():
    keep = progressive_masks(torch.full((1, 2, 2), 0.3), 10)[:, :, None]
    assert first_active_step(keep) == 7
    assert first_active_step(progressive_masks(torch.zeros(1, 2, 2), 4)[:, :, None]) == 4


def test_detailing_repaints_the_face_and_nothing_else(stage, photos):
    seen = []
    result = stage.run(
        photos[:1], [DetailRequest("portrait of a woman", seed=1)], PARAMS, on_progress=seen.append
    )
    x0, y0, x1, y1 = result.boxes[0]
    assert x0 < result.faces[0].bbox[0] and result.faces[0].bbox[2] < x1
    changed = (result.images[0] - photos[0]).abs().amax(dim=0) > 0
    assert changed.any()
    ys, xs = torch.nonzero(changed, as_tuple=True)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
    assert seen and seen[-1].stage == "detailing" and seen[-1].step == seen[-1].total


def test_all_faces_share_one_unet_batch_and_a_faceless_image_is_reported(stage, tiny_models, photos):
    batch = torch.cat([photos[:1], photos[:1], photos[1:]])
    sizes = []
    handle = tiny_models.unet.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    try:
        result = stage.run(batch, [DetailRequest("portrait", seed=s) for s in range(3)], PARAMS)
    finally:
        handle.remove()
    assert set(sizes) <= {4, 2} and sizes[0] == 4  # two faces, guided: [neg x 2, pos x 2]
    assert list(result.errors) == [2] and result.errors[2].code == "no_face"
    assert torch.equal(result.images[2], batch[2]) and result.boxes[2] is None


def test_resolution_must_fit_the_latent_grid(stage, photos):
    with pytest.raises(ValueError, match="multiple of 8"):
        stage.run(photos[:1], [DetailRequest("p")], DetailParams(resolution=100))
