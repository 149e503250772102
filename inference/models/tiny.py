"""The offline `tiny` preset: real SDXL architectures at toy sizes, seeded, built in seconds on a CPU.

Same classes, same wiring, same tensor layouts as SDXL (two CLIP text encoders concatenated into the
UNet's cross-attention, pooled projection + six time ids into its added embedding, a VAE that
downsamples by 8), so every code path runs, only on small numbers. Its images are noise-like
textures: it exists for tests, `make run` and benchmarks of overhead, not for portraits.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from inference.models.clip_vocab import BOS, EOS, VOCAB_SIZE, clip_tokenizer
from inference.models.photomaker.encoder import PhotoMakerIDEncoder, tiny_config

SEED = 0
TEXT_HIDDEN = 32  # both encoders; concatenated: 64 = the UNet's cross_attention_dim
TEXT_PROJECTION = 32
TIME_EMBED_DIM = 8  # six time ids x 8 + pooled 32 = 80 = projection_class_embeddings_input_dim

# SDXL's scheduler settings (scaled-linear betas, "leading" spacing).
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "interpolation_type": "linear",
    "use_karras_sigmas": False,
}


def tiny_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        transformer_layers_per_block=(1, 2),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=TIME_EMBED_DIM,
        projection_class_embeddings_input_dim=6 * TIME_EMBED_DIM + TEXT_PROJECTION,
        cross_attention_dim=2 * TEXT_HIDDEN,
        norm_num_groups=32,
    )


def sdxl_layout_vae(
    block_out_channels: tuple[int, ...], layers_per_block: int, sample_size: int
) -> AutoencoderKL:
    """SDXL's VAE layout: four blocks (three downsamplings: factor 8), 4 latent channels, SDXL's scaling."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        latent_channels=4,
        sample_size=sample_size,
        scaling_factor=0.13025,
        force_upcast=True,
    )


def tiny_vae() -> AutoencoderKL:
    return sdxl_layout_vae((32, 32, 64, 64), layers_per_block=1, sample_size=128)


def _text_config(*, pad_token_id: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_hidden_layers=4,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=TEXT_PROJECTION,
        hidden_act="quick_gelu",
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=pad_token_id,
    )


def tiny_components(seed: int = SEED) -> dict:
    """All SDXL components, initialised from one seed: the same seed gives the same weights."""
    torch.manual_seed(seed)
    unet = tiny_unet()
    vae = tiny_vae()
    tokenizer, tokenizer_2 = clip_tokenizer("tokenizer"), clip_tokenizer("tokenizer_2")
    text_encoder = CLIPTextModel(_text_config(pad_token_id=tokenizer.pad_token_id))
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(pad_token_id=tokenizer_2.pad_token_id))
    assert tokenizer.convert_tokens_to_ids([BOS, EOS]) == [49406, 49407]
    id_encoder = PhotoMakerIDEncoder(tiny_config())
    return {
        "id_encoder": id_encoder.eval(),
        "unet": unet.eval(),
        "vae": vae.eval(),
        "text_encoder": text_encoder.eval(),
        "text_encoder_2": text_encoder_2.eval(),
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer_2,
        "scheduler": EulerDiscreteScheduler(**SCHEDULER_CONFIG),
    }


def tiny_photomaker_lora(unet: UNet2DConditionModel, *, rank: int = 2, seed: int = SEED) -> dict:
    """A LoRA for every attention projection of `unet`, keyed as the official PhotoMaker file names them:
    unet.<block>.processor.to_{q,k,v,out}_lora.{down,up}.weight."""
    generator = torch.Generator().manual_seed(seed)
    lora = {}
    for name, module in unet.named_modules():
        if not name.endswith(("attn1", "attn2")):
            continue
        for proj, layer in (
            ("to_q", module.to_q),
            ("to_k", module.to_k),
            ("to_v", module.to_v),
            ("to_out", module.to_out[0]),
        ):
            out_features, in_features = layer.weight.shape
            prefix = f"unet.{name}.processor.{proj}_lora"
            lora[f"{prefix}.down.weight"] = torch.randn(rank, in_features, generator=generator) * 0.1
            lora[f"{prefix}.up.weight"] = torch.randn(out_features, rank, generator=generator) * 0.1
    return lora
