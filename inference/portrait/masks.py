"""Masks for face detailing: where to repaint, and how that region opens up step by step.

A change map c in [0, 1] says how much of each pixel may change: 1 = repaint fully, 0 = keep the
original. Differential diffusion (Levin & Fried, 2023, "Differential Diffusion: Giving Each Pixel Its
Strength of Change") turns it into one binary mask per step with thresholds t_i = i / N: at step i a
pixel is kept (reset to the original latents, noised to that step's timestep) while (1 - c) > t_i, and
released to denoise freely from then on. So c = 0.3 repaints only during the last 30% of steps, c = 1
during all of them, c = 0 never. diffusers' differential img2img community pipeline applies the same
rule to a map read the other way round (1 = preserve).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inference.faces import Face


def _face_size(face: Face) -> float:
    return max(1.0, (face.width * face.height) ** 0.5)


def face_region(height: int, width: int, face: Face) -> np.ndarray:
    """Binary [H, W] float32 region: the convex hull of the 106 landmarks, or an ellipse in the box."""
    region = np.zeros((height, width), dtype=np.uint8)
    if face.landmarks is not None:
        hull = cv2.convexHull(np.round(face.landmarks).astype(np.int32))
        cv2.fillConvexPoly(region, hull, 1)
    else:
        x0, y0, x1, y1 = face.bbox
        center = (int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2)))
        # Detector boxes are tight on the features: the ellipse reaches a little past, towards the hairline.
        axes = (max(1, int(round(face.width / 2))), max(1, int(round(face.height * 0.6))))
        cv2.ellipse(region, center, axes, 0, 0, 360, 1, thickness=-1)
    return region.astype(np.float32)


def face_mask(
    height: int, width: int, face: Face, *, dilate: float = 0.06, feather: float = 0.08
) -> np.ndarray:
    """[H, W] float32 in [0, 1]: the face region grown by `dilate` and softened by `feather`.

    Both are fractions of the face's size, so the mask behaves the same on a thumbnail and a 4K photo.
    """
    region = face_region(height, width, face)
    size = _face_size(face)
    grow = int(round(dilate * size))
    if grow > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        region = cv2.dilate(region, kernel)
    sigma = feather * size
    if sigma > 0:
        region = cv2.GaussianBlur(region, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.clip(region, 0.0, 1.0)


def change_map(mask: np.ndarray | torch.Tensor, strength: float) -> torch.Tensor:
    """Change map in [0, 1]: the mask scaled by the detailing strength (1 = the face may change fully)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError("strength must be between 0 and 1")
    values = torch.as_tensor(mask, dtype=torch.float32)
    return (values * strength).clamp(0.0, 1.0)


def to_latent_grid(change: torch.Tensor, latent_height: int, latent_width: int) -> torch.Tensor:
    """[N, H, W] pixel change maps -> [N, h, w] at the latent resolution (area average)."""
    return F.interpolate(change[:, None], size=(latent_height, latent_width), mode="area")[:, 0]


def thresholds(steps: int) -> torch.Tensor:
    """t_i = i / N for i = 0 .. N-1."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    return torch.arange(steps, dtype=torch.float32) / steps


def progressive_masks(change: torch.Tensor, steps: int) -> torch.Tensor:
    """[steps, N, h, w] bool, True = keep the original at that step: (1 - c) > t_i.

    Thresholds rise with i, so a pixel once released stays released (the masks only shrink).
    """
    return (1.0 - change)[None] > thresholds(steps).to(change.device).view(-1, *([1] * change.dim()))
