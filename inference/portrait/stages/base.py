"""Stage 1: SDXL from noise to a base image, with classifier-free guidance that switches off near the end.

    stage = BaseStage(models)
    result = stage.run([BaseRequest("portrait of a person, oil painting", seed=7)], GenerationParams())

The sampler is `sample_guided`: a plain loop over a diffusers scheduler's steps. The UNet call lives in
`GuidedDenoiser`, which decides the batch layout per step:
    guided step   : UNet batch [neg x N, pos x N] -> eps = uncond + scale * (cond - uncond)
    unguided step : UNet batch [pos x N]          -> eps = cond   (the last 20% of steps: half the work)
The positive path is the text-only prompt up to `start_merge_step` and the face-conditioned prompt
after it (PhotoMaker: the layout settles first, identity refines it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from diffusers import UNet2DConditionModel

from inference.models import vae
from inference.models.fast import mark_batch_dynamic
from inference.models.registry import ModelRegistry
from inference.params import GenerationParams
from inference.portrait.conditioning import (
    Conditioning,
    PromptEmbeds,
    TextEncoder,
    UNetConditioning,
    build_conditioning,
)
from inference.portrait.progress import Progress, ProgressCallback
from inference.portrait.scheduler import prepare_scheduler

STAGE = "base"


@dataclass(frozen=True)
class BaseRequest:
    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    face: PromptEmbeds | None = None  # [1, 77, D] identity-fused prompt, from inference.identity


@dataclass
class BaseResult:
    latents: torch.Tensor  # [M, 4, h, w]: the M requests not cancelled
    images: torch.Tensor  # [M, 3, H, W] in [0, 1]
    rows: list[int]  # the request index of each image
    timings: dict[str, float] = field(default_factory=dict)


def guided_until(steps: int, params: GenerationParams) -> int:
    """Index of the first unguided step of a `steps`-step run (either stage): with adaptive guidance the
    last `unguided_fraction` of steps skip the negative half; a guidance scale of 1 never needs it."""
    if params.guidance_scale <= 1.0:
        return 0
    if not params.adaptive_guidance:
        return steps
    return steps - int(round(steps * params.unguided_fraction))


class GuidedDenoiser:
    """Predicts the noise for one step, laying out the UNet batch as the step requires."""

    def __init__(
        self, unet: UNet2DConditionModel, scheduler, conditioning: Conditioning, guidance_scale: float
    ):
        self.unet = unet
        self.scheduler = scheduler
        self.conditioning = conditioning
        self.guidance_scale = guidance_scale
        self._layouts: dict[tuple[bool, bool], UNetConditioning] = {}

    def select(self, positions: list[int]) -> GuidedDenoiser:
        """The same denoiser for a subset of the batch (rows cancelled between steps drop out)."""
        return GuidedDenoiser(
            self.unet, self.scheduler, self.conditioning.select(positions), self.guidance_scale
        )

    def _layout(self, use_face: bool, guided: bool) -> UNetConditioning:
        key = (use_face, guided)
        if key not in self._layouts:
            self._layouts[key] = self.conditioning.unet_inputs(use_face=use_face, guided=guided)
        return self._layouts[key]

    def __call__(
        self, latents: torch.Tensor, t: torch.Tensor, *, guided: bool, use_face: bool
    ) -> torch.Tensor:
        cond = self._layout(use_face, guided)
        model_input = torch.cat([latents, latents]) if guided else latents
        model_input = self.scheduler.scale_model_input(model_input, t)
        added = cond.added_cond_kwargs()
        mark_batch_dynamic(model_input, cond.encoder_hidden_states, *added.values())  # one compiled graph
        eps = self.unet(
            model_input,
            t,
            encoder_hidden_states=cond.encoder_hidden_states,
            added_cond_kwargs=added,
            return_dict=False,
        )[0]
        if not guided:
            return eps
        uncond, conditioned = eps.chunk(2)
        return uncond + self.guidance_scale * (conditioned - uncond)


class ActiveRows:
    """The requests of a batch still wanted. Checked between steps: a cancelled row leaves the UNet batch."""

    def __init__(self, count: int, is_cancelled: Callable[[int], bool] | None = None):
        self.rows = list(range(count))  # original request indices, in batch order
        self.is_cancelled = is_cancelled

    def prune(self) -> list[int] | None:
        """Batch positions to keep when some row was just cancelled, else None."""
        if self.is_cancelled is None:
            return None
        positions = [p for p, row in enumerate(self.rows) if not self.is_cancelled(row)]
        if len(positions) == len(self.rows):
            return None
        self.rows = [self.rows[p] for p in positions]
        return positions


def sample_guided(
    denoiser: GuidedDenoiser,
    latents: torch.Tensor,
    scheduler,
    *,
    guided_until: int,
    text_until: int,
    callback: ProgressCallback | None = None,
    rows: ActiveRows | None = None,
    stage: str = STAGE,
) -> torch.Tensor:
    """Walk the scheduler's timesteps; guided before `guided_until`; the text-only prompt up to and
    including step `text_until`, the face-conditioned prompt after it (PhotoMaker's start_merge_step).

    With `rows`, cancelled requests are dropped between steps; the result holds the rows still in `rows.rows`.
    """
    timesteps = scheduler.timesteps
    for i, t in enumerate(timesteps):
        eps = denoiser(latents, t, guided=i < guided_until, use_face=i > text_until)
        latents = scheduler.step(eps, t, latents, return_dict=False)[0]
        if callback is not None:
            current = tuple(rows.rows) if rows is not None else tuple(range(latents.shape[0]))
            callback(Progress(stage=stage, step=i + 1, total=len(timesteps), latents=latents, rows=current))
        positions = rows.prune() if rows is not None else None
        if positions is not None:
            latents = latents[positions]
            if not positions:
                break
            denoiser = denoiser.select(positions)
    return latents


def initial_noise(seeds: list[int], shape: tuple[int, int, int], *, device, dtype) -> torch.Tensor:
    """[N, *shape] noise, image i drawn from its own CPU generator seeded with seeds[i].

    One generator per image makes every image independent of its batch: the same seed gives the same
    image alone or beside others, on any device.
    """
    noise = [torch.randn((1, *shape), generator=torch.Generator("cpu").manual_seed(s)) for s in seeds]
    return torch.cat(noise).to(device, dtype)


class BaseStage:
    def __init__(self, models: ModelRegistry):
        self.models = models
        self.text_encoder = TextEncoder(models)

    @torch.inference_mode()
    def run(
        self,
        requests: list[BaseRequest],
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
        conditioning = build_conditioning(
            self.text_encoder,
            [r.prompt for r in requests],
            [r.negative_prompt for r in requests],
            height=params.height,
            width=params.width,
            faces=[r.face for r in requests],
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
            guided_until=guided_until(params.steps, params),
            text_until=params.start_merge_step,
            callback=on_progress,
            rows=rows,
        )
        timings["denoise_s"] = time.perf_counter() - started

        started = time.perf_counter()
        if rows.rows:
            images = vae.decode(models.vae, latents)
        else:  # every request was cancelled
            images = torch.zeros((0, 3, params.height, params.width))
        timings["decode_s"] = time.perf_counter() - started
        return BaseResult(latents=latents, images=images, rows=rows.rows, timings=timings)
