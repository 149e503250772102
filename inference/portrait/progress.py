"""What a running stage reports after every denoising step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from inference.portrait.previews import preview_jpeg


@dataclass(frozen=True)
class Progress:
    stage: str  # "base" or "detailing" (a sampler called alone: "guided" or "differential")
    step: int  # steps done, 1..total
    total: int
    latents: torch.Tensor  # [N, 4, h, w] after this step; read it, do not keep it
    rows: tuple[
        int, ...
    ] = ()  # which of the stage's inputs each latent row belongs to (cancelled ones leave)

    @property
    def percent(self) -> float:
        return 100.0 * self.step / self.total

    def preview(self, index: int = 0, *, max_side: int = 256) -> bytes:
        """A small JPEG of image `index`, from the latents alone (milliseconds; no VAE)."""
        return preview_jpeg(self.latents[index], max_side=max_side)


ProgressCallback = Callable[[Progress], None]
