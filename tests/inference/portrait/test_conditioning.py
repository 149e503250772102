import pytest
import torch

from inference.portrait.conditioning import Conditioning, build_conditioning, time_ids
from inference.text.encoder import PromptEmbeds, TextEncoder


@pytest.fixture(scope="module")
def encoder(tiny_models):
    return TextEncoder(tiny_models)


def test_cfg_layout_is_grouped_negatives_then_positives(encoder):
    cond = build_conditioning(encoder, ["p0", "p1"], ["n0", "n1"], height=64, width=96)
    guided = cond.unet_inputs(use_face=False, guided=True)
    assert guided.encoder_hidden_states.shape[0] == 4
    assert torch.equal(guided.encoder_hidden_states[:2], cond.negative.embeds)
    assert torch.equal(guided.encoder_hidden_states[2:], cond.text.embeds)
    assert torch.equal(guided.text_embeds[2:], cond.text.pooled)
    assert guided.time_ids.shape == (4, 6)
    unguided = cond.unet_inputs(use_face=False, guided=False)
    assert torch.equal(unguided.encoder_hidden_states, cond.text.embeds)


def test_face_path_is_used_when_present_and_falls_back_to_text(encoder):
    cond = build_conditioning(encoder, ["p"], [""], height=64, width=64)
    assert cond.positive(use_face=True) is cond.text
    face = encoder.encode(["a face"])
    with_face = build_conditioning(encoder, ["p"], [""], height=64, width=64, face=face)
    assert with_face.positive(use_face=True) is face and with_face.positive(use_face=False) is with_face.text
    assert with_face.detailed_text_face is face.embeds and with_face.global_text_face is face.pooled
    assert cond.detailed_text_face is None


def test_time_ids_are_size_crop_target():
    assert time_ids(1024, 768).tolist() == [1024, 768, 0, 0, 1024, 768]
    assert time_ids(1024, 1024, crop=(16, 8), target=(896, 896)).tolist() == [1024, 1024, 16, 8, 896, 896]


def test_parts_must_agree_on_batch_size(encoder):
    text = encoder.encode(["a", "b"])
    with pytest.raises(ValueError, match="batch size"):
        Conditioning(negative=text, text=text, time_ids=torch.zeros(3, 6))


def test_select_keeps_the_chosen_rows(encoder):
    cond = build_conditioning(encoder, ["a", "b", "c"], ["", "", ""], height=64, width=64)
    kept = cond.select([0, 2])
    assert torch.equal(kept.text.embeds, cond.text.embeds[[0, 2]])
    assert isinstance(kept.negative, PromptEmbeds) and kept.time_ids.shape == (2, 6)
