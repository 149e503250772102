"""Conversions between image tensors [N, 3, H, W] in [0, 1] and PIL images."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] in [0, 1] -> [N, H, W, 3] uint8 (RGB, as face analysis and PIL want it)."""
    return (
        (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    )


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(np.ascontiguousarray(a)) for a in to_uint8(images)]


def from_pil(images: list[Image.Image]) -> torch.Tensor:
    arrays = [np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0 for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
