"""The PhotoMaker V2 ID encoder, written here from the published architecture (Li et al., 2024,
"PhotoMaker: Customizing Realistic Human Photos via Stacked ID Embedding"; V2 adds the insightface
embedding through a Q-Former-style perceiver). Module and attribute names follow the official
checkpoint's keys so `photomaker-v2.bin` loads with strict=True (docs/photomaker-v2-format.md).

    CLIP ViT-L/14 vision tower            id photos [B*N, 3, 224, 224] -> hidden states [B*N, 257, 1024]
    qformer_perceiver                     insightface embedding [B*N, 512] -> 2 tokens [B*N, 2, 2048],
                                          refined by a perceiver over the CLIP hidden states (+ residual)
    fuse_module                           class-token embedding ++ its ID token -> fused [.., 2048],
                                          written back into the prompt embeddings at the class positions
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection


@dataclass(frozen=True)
class IDEncoderConfig:
    vision: CLIPVisionConfig
    text_dim: int = 2048  # the concatenated SDXL prompt embedding width
    id_dim: int = 512  # insightface ArcFace embedding
    tokens_per_image: int = 2
    depth: int = 4
    heads: int = 16
    dim_head: int = 128
    ff_mult: int = 4
    projection_2_dim: int = 1280  # visual_projection_2: in the checkpoint, unused by V2's forward pass


def official_config() -> IDEncoderConfig:
    """PhotoMaker V2's sizes: CLIP ViT-L/14 (hidden 1024, 24 layers, 16 heads, patch 14, projection 768)."""
    vision = CLIPVisionConfig(
        hidden_size=1024,
        intermediate_size=4096,
        num_attention_heads=16,
        num_hidden_layers=24,
        patch_size=14,
        image_size=224,
        projection_dim=768,
        hidden_act="quick_gelu",
    )
    return IDEncoderConfig(vision=vision)


def tiny_config() -> IDEncoderConfig:
    """The tiny preset's encoder: same structure, toy sizes (text width 64 = the tiny SDXL's)."""
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        patch_size=14,
        image_size=224,
        projection_dim=16,
        hidden_act="quick_gelu",
    )
    return IDEncoderConfig(vision=vision, text_dim=64, depth=2, heads=2, dim_head=16, projection_2_dim=32)


def config_for_text_dim(text_dim: int) -> IDEncoderConfig:
    """The encoder that pairs with an SDXL of this prompt width: 2048 (real) or 64 (the tiny preset)."""
    configs = {2048: official_config, 64: tiny_config}
    if text_dim not in configs:
        raise ValueError(f"no PhotoMaker encoder pairs with a {text_dim}-wide prompt embedding")
    return configs[text_dim]()


class MLP(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int, *, residual: bool):
        super().__init__()
        if residual and in_dim != out_dim:
            raise ValueError("a residual MLP needs equal input and output widths")
        self.layernorm = nn.LayerNorm(in_dim)
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.act_fn = nn.GELU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(self.act_fn(self.fc1(self.layernorm(x))))
        return out + x if self.residual else out


class FuseModule(nn.Module):
    """class-token embedding [M, D] ++ ID token [M, D] -> fused [M, D]."""

    def __init__(self, dim: int):
        super().__init__()
        self.mlp1 = MLP(dim * 2, dim, dim, residual=False)
        self.mlp2 = MLP(dim, dim, dim, residual=True)
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, class_embeds: torch.Tensor, id_tokens: torch.Tensor) -> torch.Tensor:
        fused = self.mlp1(torch.cat([class_embeds, id_tokens], dim=-1)) + class_embeds
        return self.layer_norm(self.mlp2(fused))


class PerceiverAttention(nn.Module):
    """The latents attend to the image features and to themselves (keys = features ++ latents)."""

    def __init__(self, dim: int, dim_head: int, heads: int):
        super().__init__()
        inner = dim_head * heads
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)  # image features
        self.norm2 = nn.LayerNorm(dim)  # latents
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, H*d] -> [B, H, L, d]
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def forward(self, features: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        features, latents = self.norm1(features), self.norm2(latents)
        q = self._heads(self.to_q(latents))
        k, v = (self._heads(t) for t in self.to_kv(torch.cat([features, latents], dim=1)).chunk(2, dim=-1))
        out = F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(
            latents.dtype
        )  # softmax in fp32
        return self.to_out(out.transpose(1, 2).flatten(2))


def feed_forward(dim: int, mult: int) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(dim),
        nn.Linear(dim, dim * mult, bias=False),
        nn.GELU(),
        nn.Linear(dim * mult, dim, bias=False),
    )


class Resampler(nn.Module):
    def __init__(self, dim: int, depth: int, dim_head: int, heads: int, embedding_dim: int, ff_mult: int):
        super().__init__()
        self.proj_in = nn.Linear(embedding_dim, dim)
        self.proj_out = nn.Linear(dim, dim)
        self.norm_out = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim, dim_head, heads), feed_forward(dim, ff_mult)])
            for _ in range(depth)
        )

    def forward(self, latents: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        features = self.proj_in(features)
        for attention, ff in self.layers:
            latents = attention(features, latents) + latents
            latents = ff(latents) + latents
        return self.norm_out(self.proj_out(latents))


class QFormerPerceiver(nn.Module):
    """insightface embedding [M, 512] -> ID tokens [M, tokens, D], refined over CLIP features."""

    def __init__(self, config: IDEncoderConfig):
        super().__init__()
        dim, tokens = config.text_dim, config.tokens_per_image
        self.tokens = tokens
        self.token_proj = nn.Sequential(
            nn.Linear(config.id_dim, dim), nn.GELU(), nn.Linear(dim, dim * tokens)
        )
        self.token_norm = nn.LayerNorm(dim)
        self.perceiver_resampler = Resampler(
            dim, config.depth, config.dim_head, config.heads, config.vision.hidden_size, config.ff_mult
        )

    def forward(self, id_embeds: torch.Tensor, clip_features: torch.Tensor) -> torch.Tensor:
        tokens = self.token_norm(self.token_proj(id_embeds).unflatten(-1, (self.tokens, -1)))
        return tokens + self.perceiver_resampler(tokens, clip_features)


class PhotoMakerIDEncoder(CLIPVisionModelWithProjection):
    """CLIP vision tower + perceiver + fuse module, keyed exactly like the official V2 `id_encoder`."""

    def __init__(self, config: IDEncoderConfig):
        super().__init__(config.vision)
        self.id_config = config
        self.visual_projection_2 = nn.Linear(config.vision.hidden_size, config.projection_2_dim, bias=False)
        self.fuse_module = FuseModule(config.text_dim)
        self.qformer_perceiver = QFormerPerceiver(config)

    def id_tokens(self, pixel_values: torch.Tensor, id_embeds: torch.Tensor) -> torch.Tensor:
        """[M, 3, 224, 224] photos and [M, 512] embeddings -> [M, tokens, D] identity tokens."""
        features = self.vision_model(pixel_values=pixel_values).last_hidden_state  # before post_layernorm
        return self.qformer_perceiver(id_embeds, features)

    def forward(
        self,
        pixel_values: torch.Tensor,  # [B, N, 3, 224, 224]
        prompt_embeds: torch.Tensor,  # [B, 77, D] with the class word repeated N x tokens times
        class_tokens_mask: torch.Tensor,  # [B, 77] bool, True at those repeated positions
        id_embeds: torch.Tensor,  # [B, N, 512]
    ) -> torch.Tensor:
        """The prompt embeddings with identity fused in at the class-token positions; others untouched."""
        batch, images = pixel_values.shape[:2]
        tokens = self.id_tokens(pixel_values.flatten(0, 1), id_embeds.flatten(0, 1).to(pixel_values.dtype))
        tokens = tokens.reshape(batch, -1, tokens.shape[-1])  # [B, N * tokens, D]: image 0's tokens first
        counts = class_tokens_mask.sum(dim=1)
        if not torch.all(counts == tokens.shape[1]):
            raise ValueError(
                f"each prompt needs {tokens.shape[1]} class-token positions, got {counts.tolist()}"
            )
        class_embeds = prompt_embeds[class_tokens_mask]  # [B * N * tokens, D], in sequence order
        fused = self.fuse_module(class_embeds, tokens.flatten(0, 1).to(class_embeds.dtype))
        out = prompt_embeds.clone()
        out[class_tokens_mask] = fused.to(out.dtype)
        return out
