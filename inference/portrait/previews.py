"""Cheap live previews: SDXL latents -> RGB by a fixed linear map, no VAE, a few milliseconds.

Each RGB channel is a weighted sum of the four latent channels plus a bias. The factors are the
widely used approximation fitted for SDXL's VAE latent space; colours and layout are right, detail
is not, which is all a progress preview needs.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

SDXL_LATENT_RGB_FACTORS = torch.tensor(
    [
        [0.3651, 0.4232, 0.4341],
        [-0.2533, -0.0042, 0.1068],
        [0.1076, 0.1111, -0.0362],
        [-0.3165, -0.2492, -0.2188],
    ]
)
SDXL_LATENT_RGB_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])


def latents_to_rgb(latents: torch.Tensor) -> np.ndarray:
    """[4, h, w] latents -> [h, w, 3] uint8."""
    flat = latents.detach().float().cpu().permute(1, 2, 0)  # [h, w, 4]
    rgb = flat @ SDXL_LATENT_RGB_FACTORS + SDXL_LATENT_RGB_BIAS  # roughly [-1, 1]
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def preview_jpeg(latents: torch.Tensor, *, max_side: int = 256, quality: int = 70) -> bytes:
    """One image's latents [4, h, w] -> a small JPEG (upscaled to at most max_side pixels)."""
    image = Image.fromarray(latents_to_rgb(latents))
    scale = max(1, max_side // max(image.size))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
