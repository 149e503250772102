import logging

import pytest
import torch

from inference.portrait.conditioning import (
    Conditioning,
    PromptEmbeds,
    TextEncoder,
    build_conditioning,
    time_ids,
)


@pytest.fixture(scope="module")
def encoder(tiny_models):
    return TextEncoder(tiny_models)


def test_both_encoders_are_concatenated(encoder, tiny_models):
    out = encoder.encode(["a portrait", "a landscape"])
    assert out.embeds.shape == (2, 77, 64)  # 32 (encoder 1) + 32 (encoder 2); SDXL: 768 + 1280
    assert out.pooled.shape == (2, 32)
    ids = encoder.token_ids(tiny_models.tokenizer, ["a portrait"])
    with torch.inference_mode():
        first = tiny_models.text_encoder(ids, output_hidden_states=True).hidden_states[-2]
    assert torch.equal(out.embeds[:1, :, :32], first)


def test_empty_negative_prompts_are_zeros_others_are_encoded(encoder):
    _, none = encoder.encode_with_negatives(["a", "b"], ["", " "])
    assert torch.count_nonzero(none.embeds) == 0 and torch.count_nonzero(none.pooled) == 0
    positive, mixed = encoder.encode_with_negatives(["a", "b"], ["", "blurry"])
    assert torch.count_nonzero(mixed.embeds[0]) == 0
    assert torch.allclose(mixed.embeds[1], encoder.encode(["blurry"]).embeds[0], atol=1e-6)
    assert torch.allclose(positive.embeds, encoder.encode(["a", "b"]).embeds, atol=1e-6)


def test_repeated_prompts_are_encoded_once_and_match(encoder, tiny_models):
    calls = []
    handle = tiny_models.text_encoder.register_forward_pre_hook(
        lambda m, args: calls.append(args[0].shape[0])
    )
    try:
        out = encoder.encode(["same", "other", "same"])
    finally:
        handle.remove()
    assert calls == [2]
    assert torch.equal(out.embeds[0], out.embeds[2])
    assert torch.allclose(out.embeds[1], encoder.encode(["other"]).embeds[0], atol=1e-6)


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


def test_long_prompts_are_truncated_with_a_warning(encoder, caplog):
    long_prompt = ", ".join(f"keyword{i}" for i in range(60))
    with caplog.at_level(logging.WARNING, logger="narcis.inference.portrait.conditioning"):
        out = encoder.encode([long_prompt])
    assert out.embeds.shape == (1, 77, 64)
    assert any("truncated" in r.message for r in caplog.records)


def test_parts_must_agree_on_batch_size(encoder):
    text = encoder.encode(["a", "b"])
    with pytest.raises(ValueError, match="batch size"):
        Conditioning(negative=text, text=text, time_ids=torch.zeros(3, 6))


def test_select_keeps_the_chosen_rows(encoder):
    cond = build_conditioning(encoder, ["a", "b", "c"], ["", "", ""], height=64, width=64)
    kept = cond.select([0, 2])
    assert torch.equal(kept.text.embeds, cond.text.embeds[[0, 2]])
    assert isinstance(kept.negative, PromptEmbeds) and kept.time_ids.shape == (2, 6)
