"""Text conditioning for SDXL: two CLIP encoders, the CFG batch layout, and the size/crop time ids.

Shapes (real SDXL; the tiny preset has the same layout with 32 + 32 = 64 features):
    encoder 1 penultimate hidden states [N, 77, 768] ++ encoder 2's [N, 77, 1280] -> embeds [N, 77, 2048]
    pooled: encoder 2's projected end-of-text embedding [N, 1280]
    time ids: [N, 6] = (height, width, crop_y, crop_x, target_height, target_width)

Prompts longer than 77 tokens are truncated (with a warning naming what was cut): SDXL was trained
on 77-token windows, and our prompts (mecene's 15 keywords) fit in them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from inference.models.registry import ModelRegistry

logger = logging.getLogger("narcis.inference.portrait.conditioning")


@dataclass(frozen=True)
class PromptEmbeds:
    embeds: torch.Tensor  # [N, 77, D]
    pooled: torch.Tensor  # [N, P]

    def __len__(self) -> int:
        return self.embeds.shape[0]

    @staticmethod
    def cat(parts: list[PromptEmbeds]) -> PromptEmbeds:
        return PromptEmbeds(torch.cat([p.embeds for p in parts]), torch.cat([p.pooled for p in parts]))

    def zeros_like(self) -> PromptEmbeds:
        return PromptEmbeds(torch.zeros_like(self.embeds), torch.zeros_like(self.pooled))


class TextEncoder:
    """Both SDXL text encoders, used together."""

    def __init__(self, models: ModelRegistry):
        self.models = models
        self.pairs = ((models.tokenizer, models.text_encoder), (models.tokenizer_2, models.text_encoder_2))

    def token_ids(self, tokenizer, prompts: list[str]) -> torch.Tensor:
        """[N, 77] ids: <start> prompt <end> <pad>...; longer prompts keep their first 75 tokens."""
        limit = tokenizer.model_max_length
        rows = []
        for ids in tokenizer(prompts).input_ids:
            if len(ids) > limit:
                logger.warning(
                    "prompt truncated to 77 tokens", extra={"removed": tokenizer.decode(ids[limit - 1 : -1])}
                )
                ids = ids[: limit - 1] + ids[-1:]
            rows.append(ids + [tokenizer.pad_token_id] * (limit - len(ids)))
        return torch.tensor(rows, device=self.models.device)

    @torch.inference_mode()
    def encode_token_ids(self, ids: list[torch.Tensor]) -> PromptEmbeds:
        """Token ids [N, 77], one tensor per encoder -> embeds [N, 77, D] and pooled [N, P]."""
        hidden, pooled = [], None
        for token_ids, (_, encoder) in zip(ids, self.pairs, strict=True):
            out = encoder(token_ids.to(self.models.device), output_hidden_states=True)
            hidden.append(out.hidden_states[-2])  # penultimate layer, as SDXL was trained
            pooled = getattr(out, "text_embeds", None)  # only encoder 2 has the projection
        return PromptEmbeds(torch.cat(hidden, dim=-1).to(self.models.dtype), pooled.to(self.models.dtype))

    @torch.inference_mode()
    def encode(self, prompts: list[str]) -> PromptEmbeds:
        """Each distinct prompt goes through the encoders once: a batch usually shares its negative prompt."""
        unique = list(dict.fromkeys(prompts))
        out = self.encode_token_ids([self.token_ids(tokenizer, unique) for tokenizer, _ in self.pairs])
        if len(unique) == len(prompts):
            return out
        rows = torch.tensor([unique.index(p) for p in prompts], device=out.embeds.device)
        return PromptEmbeds(out.embeds.index_select(0, rows), out.pooled.index_select(0, rows))

    def encode_with_negatives(
        self, prompts: list[str], negatives: list[str]
    ) -> tuple[PromptEmbeds, PromptEmbeds]:
        """(positive, negative), in one pass through each encoder.

        An empty negative prompt is all zeros, as SDXL's pipeline does (force_zeros_for_empty_prompt).
        """
        if len(prompts) != len(negatives):
            raise ValueError("one negative prompt per prompt")
        empty = [not p.strip() for p in negatives]
        both = self.encode(prompts + [n for n, e in zip(negatives, empty, strict=True) if not e])
        n = len(prompts)
        positive = PromptEmbeds(both.embeds[:n], both.pooled[:n])
        if all(empty):
            return positive, positive.zeros_like()
        negative = positive.zeros_like()
        written = [i for i, e in enumerate(empty) if not e]
        negative.embeds[written] = both.embeds[n:]
        negative.pooled[written] = both.pooled[n:]
        return positive, negative


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
