"""What both stages take in: one request per image, the batch's conditioning, and the guidance numbers
the samplers want from the parameters (inference.portrait.sampling takes plain numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from inference.params import GenerationParams
from inference.portrait.conditioning import Conditioning, build_conditioning
from inference.text.encoder import PromptEmbeds, TextEncoder


@dataclass(frozen=True)
class StageRequest:
    prompt: str  # the text path's prompt (PortraitPipeline has taken the trigger word out)
    negative_prompt: str = ""
    seed: int = 0
    face: PromptEmbeds | None = None  # [1, 77, D] identity-fused prompt, from inference.identity


def batch_conditioning(
    encoder: TextEncoder, requests: list[StageRequest], *, height: int, width: int
) -> Conditioning:
    """One row per request; a request without a face uses its text path where the face would go."""
    return build_conditioning(
        encoder,
        [r.prompt for r in requests],
        [r.negative_prompt for r in requests],
        height=height,
        width=width,
        faces=[r.face for r in requests],
    )


def unguided_fraction(params: GenerationParams) -> float:
    """The share of the last steps run without guidance: none unless adaptive guidance is on."""
    return params.unguided_fraction if params.adaptive_guidance else 0.0
