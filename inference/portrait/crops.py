"""Face crops for detailing: a padded square around the face, magnified, and pasted back without a seam."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inference.faces import Face

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


def square_box(face: Face, width: int, height: int, *, padding: float = 0.35) -> Box:
    """A square around the face, padded by `padding` of its size per side, moved (not cut) to fit."""
    x0, y0, x1, y1 = face.bbox
    side = int(round(max(x1 - x0, y1 - y0) * (1 + 2 * padding)))
    side = max(8, min(side, width, height))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, left + side, top + side


def crop_resized(images: torch.Tensor, boxes: list[Box], size: int) -> torch.Tensor:
    """[N, C, H, W] and one box per image -> [N, C, size, size] (antialiased bicubic, clamped to [0, 1])."""
    crops = [
        F.interpolate(image[None, :, y0:y1, x0:x1], size=(size, size), mode="bicubic", antialias=True)
        for image, (x0, y0, x1, y1) in zip(images, boxes, strict=True)
    ]
    return torch.cat(crops).clamp(0, 1)


def match_colors(source: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Shift and scale each channel of `source` [C, H, W] so its weighted mean and spread match `reference`.

    Repainting can drift the skin tone a little; matching statistics inside the face mask removes the
    colour step that would otherwise show where the face meets the untouched picture.
    """
    total = weight.sum().clamp_min(1e-6)

    def stats(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = (image * weight).sum(dim=(1, 2), keepdim=True) / total
        var = (((image - mean) ** 2) * weight).sum(dim=(1, 2), keepdim=True) / total
        return mean, var.sqrt().clamp_min(1e-4)

    source_mean, source_std = stats(source)
    reference_mean, reference_std = stats(reference)
    return ((source - source_mean) / source_std * reference_std + reference_mean).clamp(0, 1)


def paste_back(base: torch.Tensor, face: torch.Tensor, box: Box, mask: torch.Tensor) -> torch.Tensor:
    """Blend `face` [C, s, s] into `base` [C, H, W] at `box` through `mask` [H, W] in [0, 1] (full-image).

    Outside the mask (0) the base pixels are returned unchanged, bit for bit.
    """
    x0, y0, x1, y1 = box
    resized = F.interpolate(face[None], size=(y1 - y0, x1 - x0), mode="bicubic", antialias=True)[0].clamp(
        0, 1
    )
    region = mask[y0:y1, x0:x1].to(base)
    original = base[:, y0:y1, x0:x1]
    matched = match_colors(resized, original, region)
    out = base.clone()
    blended = original * (1 - region) + matched * region
    out[:, y0:y1, x0:x1] = torch.where(region > 0, blended, original)
    return out
