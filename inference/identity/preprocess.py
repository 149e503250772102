"""ID photos -> CLIP pixel values, as CLIP ViT-L/14 was trained: shortest side 224 (bicubic), centre
crop 224 x 224, scaled to [0, 1], normalised with OpenAI CLIP's mean and std."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIZE = 224


def clip_pixels(images: list[np.ndarray]) -> torch.Tensor:
    """RGB uint8 photos [H, W, 3] -> [N, 3, 224, 224] float32."""
    out = []
    for array in images:
        image = Image.fromarray(array).convert("RGB")
        scale = SIZE / min(image.size)
        width, height = max(SIZE, round(image.width * scale)), max(SIZE, round(image.height * scale))
        image = image.resize((width, height), Image.BICUBIC)
        left, top = (width - SIZE) // 2, (height - SIZE) // 2
        image = image.crop((left, top, left + SIZE, top + SIZE))
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
        out.append((pixels - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None])
    return torch.stack(out)
