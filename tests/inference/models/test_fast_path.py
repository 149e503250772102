"""The fast path on the CPU with the tiny preset: the compiled UNet paints what diffusers' eager UNet
paints, and two graphs (a batch of one; any batch of two or more) serve batches 1-4 and the adaptive-
guidance switch from 2N to N rows, with no recompilation after that.

Inductor compiles C++ with gcc here: about two minutes cold on two cores, seconds once its cache
(TORCHINDUCTOR_CACHE_DIR, var/cache/inductor) holds the graphs."""

from __future__ import annotations

import pytest
import torch
from torch._dynamo.utils import counters

from inference.models.fast import FastPath, FastPathError, mark_batch_dynamic, prepare
from inference.params import GenerationParams
from inference.portrait.stages.base import BaseStage
from inference.portrait.stages.inputs import StageRequest

CPU = torch.device("cpu")


def assert_same_painting(fast, eager) -> None:
    """Five steps of float32 summed in another order: latents (magnitude ~20 with random weights) within
    5e-4, the decoded image within 1e-4."""
    torch.testing.assert_close(fast.latents, eager.latents, rtol=1e-4, atol=5e-4)
    assert (fast.images - eager.images).abs().max().item() < 1e-4


def unet_inputs(unet, batch: int, size: int) -> tuple:
    generator = torch.Generator().manual_seed(batch)
    config = unet.config
    text_dim = config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim
    sample = torch.randn(batch, config.in_channels, size, size, generator=generator)
    states = torch.randn(batch, 77, config.cross_attention_dim, generator=generator)
    text = torch.randn(batch, text_dim, generator=generator)
    added = {"text_embeds": text, "time_ids": torch.rand(batch, 6, generator=generator)}
    return sample, torch.tensor(500.0), states, added


def graphs() -> int:
    return counters["stats"]["unique_graphs"]


def test_the_switch_reads_off_auto_and_option_lists_and_refuses_the_rest():
    assert not FastPath.parse("off", device=CPU).enabled
    assert FastPath.parse("auto", device=CPU) == FastPath.off()  # compiling costs make run minutes
    assert FastPath.parse("auto", device=torch.device("cuda")).compile
    chosen = FastPath.parse("compile, channels-last,mode=reduce-overhead", device=CPU)
    assert (chosen.compile, chosen.channels_last, chosen.fuse_qkv, chosen.mode) == (
        True,
        True,
        False,
        "reduce-overhead",
    )
    assert chosen.describe() == "compile,channels-last,mode=reduce-overhead"
    with pytest.raises(FastPathError, match="unknown fast-path option 'turbo'"):
        FastPath.parse("compile,turbo", device=CPU)
    with pytest.raises(FastPathError, match="unknown compile mode 'fastest'"):
        FastPath.parse("compile,mode=fastest", device=CPU)


def test_fp8_is_refused_where_it_cannot_run(tiny_models):
    with pytest.raises(FastPathError, match="compute capability 8.9"):
        prepare(tiny_models, FastPath(fp8=True), copy=True)


def test_channels_last_and_fused_projections_paint_what_the_eager_unet_paints(tiny_models):
    fast = prepare(tiny_models, FastPath(channels_last=True, fuse_qkv=True), copy=True)
    assert fast.unet is not tiny_models.unet and fast.fast.fuse_qkv and not tiny_models.fast.enabled
    params = GenerationParams(width=128, height=128, steps=5, start_merge_step=1, seed=0)
    requests = [StageRequest("a portrait", "blurry", seed=s) for s in range(2)]
    assert_same_painting(BaseStage(fast).run(requests, params), BaseStage(tiny_models).run(requests, params))


@pytest.mark.compiles
def test_the_compiled_unet_matches_eager_and_two_graphs_serve_batches_one_to_four(tiny_models):
    torch._dynamo.reset()
    fast = prepare(tiny_models, FastPath(compile=True), copy=True)
    # 64 px, as the worker's warm-up test paints (tests/apps/generation): one set of cached graphs.
    params = GenerationParams(
        width=64, height=64, steps=5, start_merge_step=1, adaptive_guidance=True, seed=0
    )
    before = graphs()
    for batch in (1, 2, 3, 4, 1):
        requests = [StageRequest("a portrait", "blurry", seed=s) for s in range(batch)]
        ours, eager = BaseStage(fast).run(requests, params), BaseStage(tiny_models).run(requests, params)
        assert_same_painting(ours, eager)
        # batch 1: guided rows 2 (the dynamic graph) and unguided 1 (its own); later batches add none
        assert graphs() - before == 2, batch


@pytest.mark.compiles
def test_one_compiled_unet_call_equals_diffusers_eager_unet_within_1e_4(tiny_models):
    fast = prepare(tiny_models, FastPath(compile=True), copy=True)
    for batch in (1, 2):  # the two graphs of the test above (the inductor cache serves them)
        sample, t, states, added = unet_inputs(tiny_models.unet, batch, 8)
        mark_batch_dynamic(sample, states, *added.values())
        with torch.no_grad():
            ours = fast.unet(sample, t, encoder_hidden_states=states, added_cond_kwargs=added)[0]
            eager = tiny_models.unet(sample, t, encoder_hidden_states=states, added_cond_kwargs=added)[0]
        assert (ours - eager).abs().max().item() < 1e-4
