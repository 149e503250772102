"""Stage 1: SDXL from noise to a base image, with classifier-free guidance that switches off near the end.

    stage = BaseStage(models)
    result = stage.run([StageRequest("portrait of a person, oil painting", seed=7)], GenerationParams())

The sampler is `sampling.sample_guided`. The positive path is the text-only prompt up to
`start_merge_step` and the face-conditioned prompt after it (PhotoMaker: the layout settles first,
identity refines it); with adaptive guidance the last `unguided_fraction` of steps run unguided.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from inference.models import vae
from inference.models.registry import ModelRegistry
from inference.params import GenerationParams
from inference.portrait.progress import ProgressCallback
from inference.portrait.sampling import (
    ActiveRows,
    GuidedDenoiser,
    guided_until,
    initial_noise,
    sample_guided,
)
from inference.portrait.scheduler import prepare_scheduler
from inference.portrait.stages.inputs import StageRequest, batch_conditioning, unguided_fraction
from inference.text.encoder import TextEncoder

STAGE = "base"


@dataclass
class BaseResult:
    latents: torch.Tensor  # [M, 4, h, w]: the M requests not cancelled
    images: torch.Tensor  # [M, 3, H, W] in [0, 1]
    rows: list[int]  # the request index of each image
    timings: dict[str, float] = field(default_factory=dict)


class BaseStage:
    def __init__(self, models: ModelRegistry):
        self.models = models
        self.text_encoder = TextEncoder(models)

    @torch.inference_mode()
    def run(
        self,
        requests: list[StageRequest],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
        is_cancelled: Callable[[int], bool] | None = None,
    ) -> BaseResult:
        """Denoise and decode; `is_cancelled(i)` is asked between steps and cancelled requests drop out.

        Reads width, height, steps, guidance_scale, adaptive_guidance, unguided_fraction, start_merge_step.
        """
        models, timings = self.models, {}
        latent_h = params.height // models.vae_scale_factor
        latent_w = params.width // models.vae_scale_factor

        started = time.perf_counter()
        conditioning = batch_conditioning(
            self.text_encoder, requests, height=params.height, width=params.width
        )
        timings["encode_s"] = time.perf_counter() - started

        started = time.perf_counter()
        scheduler = models.new_scheduler()
        prepare_scheduler(scheduler, params.steps, models.device)
        latents = (
            initial_noise(
                [r.seed for r in requests],
                (models.latent_channels, latent_h, latent_w),
                device=models.device,
                dtype=models.dtype,
            )
            * scheduler.init_noise_sigma
        )
        denoiser = GuidedDenoiser(models.unet, scheduler, conditioning, params.guidance_scale)
        rows = ActiveRows(len(requests), is_cancelled)
        latents = sample_guided(
            denoiser,
            latents,
            scheduler,
            guided_until=guided_until(params.steps, params.guidance_scale, unguided_fraction(params)),
            text_until=params.start_merge_step,
            callback=on_progress,
            rows=rows,
            stage=STAGE,
        )
        timings["denoise_s"] = time.perf_counter() - started

        started = time.perf_counter()
        if rows.rows:
            images = vae.decode(models.vae, latents)
        else:  # every request was cancelled
            images = torch.zeros((0, 3, params.height, params.width))
        timings["decode_s"] = time.perf_counter() - started
        return BaseResult(latents=latents, images=images, rows=rows.rows, timings=timings)
