"""The face path of the conditioning: the prompt with the sitter's identity fused in (PhotoMaker V2)."""

from __future__ import annotations

import numpy as np
import torch

from inference.identity.preprocess import clip_pixels
from inference.identity.trigger import expand_class_word, text_only
from inference.models.photomaker.encoder import PhotoMakerIDEncoder
from inference.text.encoder import PromptEmbeds, TextEncoder


class IdentityConditioner:
    def __init__(self, text_encoder: TextEncoder, id_encoder: PhotoMakerIDEncoder):
        self.text_encoder = text_encoder
        self.id_encoder = id_encoder

    @torch.inference_mode()
    def face_embeds(
        self, prompt: str, photos: list[np.ndarray], id_embeddings: np.ndarray, *, weight: float = 1.0
    ) -> PromptEmbeds:
        """[1, 77, D] identity-fused prompt embeddings (+ pooled) for one request.

        photos: the sitter's ID photos, RGB uint8 (several photos of one person are allowed);
        id_embeddings: [len(photos), 512] raw insightface embeddings of the same photos;
        weight: how far the class-token positions move towards the identity (1 = PhotoMaker as trained,
        0 = no identity, up to 2 to insist).
        """
        if len(photos) == 0 or len(photos) != len(id_embeddings):
            raise ValueError("give one insightface embedding per ID photo, and at least one photo")
        models = self.text_encoder.models
        expanded = [
            expand_class_word(tokenizer, prompt, num_id_images=len(photos))
            for tokenizer, _ in self.text_encoder.pairs
        ]
        if not torch.equal(expanded[0].mask, expanded[1].mask):
            raise ValueError("the two tokenizers disagree on where the class word is")
        prompt_embeds = self.text_encoder.encode_token_ids([e.ids[None] for e in expanded])
        encoder = self.id_encoder
        dtype = next(encoder.parameters()).dtype
        pixels = clip_pixels(photos)[None].to(models.device, dtype)
        embeddings = torch.as_tensor(np.asarray(id_embeddings), dtype=dtype, device=models.device)[None]
        mask = expanded[0].mask[None].to(models.device)
        plain = prompt_embeds.embeds.to(dtype)
        fused = encoder(pixels, plain, mask, embeddings)
        if weight != 1.0:
            fused = plain + weight * (fused - plain)  # only the class positions differ, so only they move
        return PromptEmbeds(fused.to(models.dtype), prompt_embeds.pooled)

    @staticmethod
    def text_prompt(prompt: str) -> str:
        """The text-only path's prompt: the same words without the trigger."""
        return text_only(prompt)
