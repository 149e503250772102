"""VAE decode (latents -> images) and encode (images -> latents), in the VAE's own dtype."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL


def _scaling(vae: AutoencoderKL, like: torch.Tensor) -> tuple[torch.Tensor | float, torch.Tensor | float]:
    """(mean, std/scale): plain SDXL has only a scaling factor; some VAEs also give per-channel stats."""
    config = vae.config
    mean, std = getattr(config, "latents_mean", None), getattr(config, "latents_std", None)
    if mean is not None and std is not None:
        shape = (1, len(mean), 1, 1)
        return (
            torch.tensor(mean).view(shape).to(like),
            torch.tensor(std).view(shape).to(like) / config.scaling_factor,
        )
    return 0.0, 1.0 / config.scaling_factor


@torch.inference_mode()
def decode(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """[N, 4, h, w] latents -> [N, 3, 8h, 8w] images in [0, 1], float32."""
    latents = latents.to(vae.device, vae.dtype)
    mean, scale = _scaling(vae, latents)
    images = vae.decode(latents * scale + mean, return_dict=False)[0]
    return (images.float() / 2 + 0.5).clamp(0, 1)


@torch.inference_mode()
def encode(vae: AutoencoderKL, images: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] images in [0, 1] -> [N, 4, H/8, W/8] latents (the distribution's mean: deterministic)."""
    pixels = images.to(vae.device, vae.dtype) * 2 - 1
    latents = vae.encode(pixels).latent_dist.mode()
    mean, scale = _scaling(vae, latents)
    return (latents - mean) / scale
