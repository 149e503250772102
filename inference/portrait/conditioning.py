"""SDXL's conditioning for a batch: the CFG batch layout, the face path, and the size/crop time ids.

Shapes (real SDXL; the tiny preset has D = 64, P = 32):
    embeds [N, 77, D] and pooled [N, P] per path (inference.text.encoder: D = 768 + 1280, P = 1280)
    time ids: [N, 6] = (height, width, crop_y, crop_x, target_height, target_width)
    UNet batch: guided [neg x N, pos x N] (2N rows); unguided [pos x N] (N rows)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inference.text.encoder import PromptEmbeds, TextEncoder


def time_ids(
    height: int, width: int, *, crop: tuple[int, int] = (0, 0), target: tuple[int, int] | None = None
) -> torch.Tensor:
    """SDXL's micro-conditioning: [h, w, crop_y, crop_x, target_h, target_w]."""
    target_h, target_w = target or (height, width)
    return torch.tensor([height, width, crop[0], crop[1], target_h, target_w], dtype=torch.float32)


@dataclass(frozen=True)
class Conditioning:
    """Everything the UNet is conditioned on for a batch of N images.

    `text` is the prompt without identity; `face` the identity-fused prompt (PhotoMaker), or None when
    there is no face, in which case the face path is the text path.
    """

    negative: PromptEmbeds
    text: PromptEmbeds
    time_ids: torch.Tensor  # [N, 6]
    face: PromptEmbeds | None = None

    def __post_init__(self):
        sizes = {len(self.negative), len(self.text), self.time_ids.shape[0]}
        if self.face is not None:
            sizes.add(len(self.face))
        if len(sizes) != 1:
            raise ValueError(f"conditioning parts disagree on the batch size: {sorted(sizes)}")

    @property
    def detailed_text_face(self) -> torch.Tensor | None:
        """The face path's per-token embeddings [N, 77, D] (PhotoMaker-fused), if any."""
        return None if self.face is None else self.face.embeds

    @property
    def global_text_face(self) -> torch.Tensor | None:
        """The face path's pooled embedding [N, P], if any."""
        return None if self.face is None else self.face.pooled

    def positive(self, use_face: bool) -> PromptEmbeds:
        return self.face if (use_face and self.face is not None) else self.text

    def unet_inputs(self, *, use_face: bool, guided: bool) -> UNetConditioning:
        """The UNet's conditioning: guided -> [neg x N, pos x N] (2N rows); unguided -> pos only (N rows)."""
        positive = self.positive(use_face)
        if not guided:
            return UNetConditioning(positive.embeds, positive.pooled, self.time_ids)
        both = PromptEmbeds.cat([self.negative, positive])
        return UNetConditioning(both.embeds, both.pooled, torch.cat([self.time_ids, self.time_ids]))

    def select(self, rows: list[int]) -> Conditioning:
        """The conditioning of a subset of the batch (a request cancelled mid-run drops out)."""
        pick = torch.tensor(rows, dtype=torch.long, device=self.time_ids.device)

        def take(p: PromptEmbeds | None) -> PromptEmbeds | None:
            if p is None:
                return None
            return PromptEmbeds(
                p.embeds.index_select(0, pick.to(p.embeds.device)),
                p.pooled.index_select(0, pick.to(p.pooled.device)),
            )

        return Conditioning(
            take(self.negative), take(self.text), self.time_ids.index_select(0, pick), take(self.face)
        )


@dataclass(frozen=True)
class UNetConditioning:
    encoder_hidden_states: torch.Tensor  # [B, 77, D]
    text_embeds: torch.Tensor  # [B, P]
    time_ids: torch.Tensor  # [B, 6]

    def added_cond_kwargs(self) -> dict:
        return {"text_embeds": self.text_embeds, "time_ids": self.time_ids}


def build_conditioning(
    encoder: TextEncoder,
    prompts: list[str],
    negative_prompts: list[str],
    *,
    height: int,
    width: int,
    face: PromptEmbeds | None = None,
    faces: list[PromptEmbeds | None] | None = None,
) -> Conditioning:
    """`face` for the whole batch, or `faces` per row: a row without a face uses its text path there."""
    text, negative = encoder.encode_with_negatives(prompts, negative_prompts)
    ids = time_ids(height, width).to(encoder.models.device, encoder.models.dtype).repeat(len(prompts), 1)
    if faces is not None and any(f is not None for f in faces):
        face = PromptEmbeds.cat(
            [
                f if f is not None else PromptEmbeds(text.embeds[i : i + 1], text.pooled[i : i + 1])
                for i, f in enumerate(faces)
            ]
        )
    return Conditioning(negative=negative, text=text, time_ids=ids, face=face)
