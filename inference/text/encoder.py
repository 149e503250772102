"""Both SDXL text encoders, used together: prompts in, per-token and pooled embeddings out.

Shapes (real SDXL; the tiny preset has the same layout with 32 + 32 = 64 features):
    encoder 1 penultimate hidden states [N, 77, 768] ++ encoder 2's [N, 77, 1280] -> embeds [N, 77, 2048]
    pooled: encoder 2's projected end-of-text embedding [N, 1280]

Prompts longer than 77 tokens are truncated (with a warning naming what was cut): SDXL was trained
on 77-token windows, and our prompts (mecene's 15 keywords) fit in them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from inference.models.registry import ModelRegistry

logger = logging.getLogger("narcis.inference.text.encoder")


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
