import logging

import pytest
import torch

from inference.text.encoder import TextEncoder


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


def test_long_prompts_are_truncated_with_a_warning(encoder, caplog):
    long_prompt = ", ".join(f"keyword{i}" for i in range(60))
    with caplog.at_level(logging.WARNING, logger="narcis.inference.text.encoder"):
        out = encoder.encode([long_prompt])
    assert out.embeds.shape == (1, 77, 64)
    assert any("truncated" in r.message for r in caplog.records)
