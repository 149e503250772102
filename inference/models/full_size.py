"""The real SDXL architecture with random weights, for benchmarks on a GPU machine.

Timing does not depend on weight values, so this measures what production runs without the 7 GB
checkpoint. Layer sizes are SDXL 1.0 base's: UNet 2.6 B parameters, CLIP ViT-L text encoder
(768 features) and OpenCLIP ViT-bigG text encoder (1280 features, projection 1280), VAE with 4 blocks.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from inference.models.clip_vocab import clip_tokenizer
from inference.models.tiny import SCHEDULER_CONFIG, sdxl_layout_vae


def sdxl_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=128,
        in_channels=4,
        out_channels=4,
        block_out_channels=(320, 640, 1280),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(5, 10, 20),
        transformer_layers_per_block=(1, 2, 10),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,  # 6 x 256 + 1280
        cross_attention_dim=2048,
    )


def sdxl_vae() -> AutoencoderKL:
    return sdxl_layout_vae((128, 256, 512, 512), layers_per_block=2, sample_size=1024)


def _clip(hidden: int, layers: int, heads: int, intermediate: int, act: str, projection: int, pad: int):
    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        hidden_act=act,
        projection_dim=projection,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=pad,
    )


def full_size_components(seed: int = 0, device: str | torch.device | None = None) -> dict:
    """Built on `device` directly: random init of 3.5 B parameters is minutes on a CPU, moments on a GPU."""
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        return _build()


def _build() -> dict:
    return {
        "unet": sdxl_unet().eval(),
        "vae": sdxl_vae().eval(),
        "text_encoder": CLIPTextModel(_clip(768, 12, 12, 3072, "quick_gelu", 768, 49407)).eval(),
        "text_encoder_2": CLIPTextModelWithProjection(_clip(1280, 32, 20, 5120, "gelu", 1280, 0)).eval(),
        "tokenizer": clip_tokenizer("tokenizer"),
        "tokenizer_2": clip_tokenizer("tokenizer_2"),
        "scheduler": EulerDiscreteScheduler(**SCHEDULER_CONFIG),
    }
