import numpy as np
import pytest
import skimage.data
import torch

from inference.identity.conditioner import IdentityConditioner
from inference.models.photomaker.encoder import PhotoMakerIDEncoder, tiny_config
from inference.params import GenerationParams
from inference.portrait.stages.base import BaseStage
from inference.portrait.stages.inputs import StageRequest
from inference.text.encoder import TextEncoder
from tests.inference.portrait.stages.test_base import UNetSpy

PROMPT = "portrait of a woman img, oil painting"


@pytest.fixture(scope="module")
def conditioner(tiny_models):
    return IdentityConditioner(TextEncoder(tiny_models), tiny_models.id_encoder)


def test_fusion_changes_only_the_class_token_positions():
    torch.manual_seed(0)
    encoder = PhotoMakerIDEncoder(tiny_config()).eval()
    prompt = torch.randn(2, 77, 64)
    mask = torch.zeros(2, 77, dtype=torch.bool)
    mask[0, 4:8], mask[1, 10:14] = True, True  # two photos each: 2 x 2 positions
    with torch.inference_mode():
        fused = encoder(torch.randn(2, 2, 3, 224, 224), prompt, mask, torch.randn(2, 2, 512))
    changed = (fused - prompt).abs().amax(dim=-1) > 0
    assert torch.equal(changed, mask)


def test_the_mask_must_match_the_number_of_identity_tokens():
    encoder = PhotoMakerIDEncoder(tiny_config()).eval()
    mask = torch.zeros(1, 77, dtype=torch.bool)
    mask[0, 4:6] = True  # room for one photo, two are given
    with pytest.raises(ValueError, match="class-token positions"), torch.inference_mode():
        encoder(torch.randn(1, 2, 3, 224, 224), torch.randn(1, 77, 64), mask, torch.randn(1, 2, 512))


def test_face_embeds_differ_from_the_text_path_only_where_the_identity_goes(conditioner):
    photo = skimage.data.astronaut()
    face = conditioner.face_embeds(PROMPT, [photo], np.random.default_rng(0).normal(size=(1, 512)))
    plain = conditioner.text_encoder.encode(["portrait of a woman woman, oil painting"])
    assert face.embeds.shape == (1, 77, 64) and face.pooled.shape == (1, 32)
    changed = ((face.embeds - plain.embeds).abs().amax(dim=-1) > 1e-5)[0].nonzero().flatten().tolist()
    assert changed == [4, 5]


def test_stage_one_switches_to_the_identity_path_after_start_merge_step(conditioner, tiny_models):
    photos = [skimage.data.astronaut(), np.ascontiguousarray(skimage.data.astronaut()[:, ::-1])]
    face = conditioner.face_embeds(PROMPT, photos, np.random.default_rng(1).normal(size=(2, 512)))
    text = conditioner.text_encoder.encode([conditioner.text_prompt(PROMPT)])
    params = GenerationParams(width=64, height=64, steps=5, start_merge_step=2, adaptive_guidance=False)
    with UNetSpy(tiny_models.unet) as spy:
        result = BaseStage(tiny_models).run(
            [StageRequest(conditioner.text_prompt(PROMPT), seed=1, face=face)], params
        )
    positives = [hidden[1] for _, hidden in spy.calls]
    assert all(
        torch.equal(p, text.embeds[0]) for p in positives[:3]
    )  # steps 0..start_merge_step (PhotoMaker: i <= 2)
    assert all(torch.equal(p, face.embeds[0]) for p in positives[3:])
    assert result.images.shape == (1, 3, 64, 64) and torch.isfinite(result.images).all()


def test_photomaker_weight_scales_only_the_identity_positions(conditioner):
    photo, embedding = skimage.data.astronaut(), np.random.default_rng(2).normal(size=(1, 512))
    full = conditioner.face_embeds(PROMPT, [photo], embedding)
    none = conditioner.face_embeds(PROMPT, [photo], embedding, weight=0.0)
    half = conditioner.face_embeds(PROMPT, [photo], embedding, weight=0.5)
    plain = conditioner.text_encoder.encode(["portrait of a woman woman, oil painting"])
    assert torch.allclose(none.embeds, plain.embeds, atol=1e-5)
    assert torch.allclose(half.embeds, (full.embeds + none.embeds) / 2, atol=1e-5)
