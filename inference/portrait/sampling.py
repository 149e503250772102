"""The samplers of both stages, in k-diffusion's shape: a model callable, a schedule, a progress callback.

    denoiser = GuidedDenoiser(unet, scheduler, conditioning, guidance_scale=5.0)
    latents = sample_guided(denoiser, noise * scheduler.init_noise_sigma, scheduler,
                            guided_until=8, text_until=3)                           # stage 1
    latents = sample_differential(denoiser, x0, noise, scheduler, keep, guided_until=8)  # stage 2

Everything here takes plain numbers (steps, guidance scale, the first unguided step); the stages turn
GenerationParams into them. The schedule is a diffusers EulerDiscreteScheduler set to AYS timesteps
(portrait.scheduler): its timesteps and sigmas are the schedule, its `step` the Euler update, so stage 1
stays equal to diffusers' SDXL pipeline. One step of either sampler is `euler_step`, and one report
`report`: the samplers differ only in what they do around them.

The denoiser lays out the UNet batch per step:
    guided step   : UNet batch [neg x N, pos x N] -> eps = uncond + scale * (cond - uncond)
    unguided step : UNet batch [pos x N]          -> eps = cond   (adaptive guidance: half the work)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from diffusers import EulerDiscreteScheduler, UNet2DConditionModel

from inference.models.fast import mark_batch_dynamic
from inference.portrait.conditioning import Conditioning, UNetConditioning
from inference.portrait.progress import Progress, ProgressCallback


class Denoiser(Protocol):
    """Noise prediction for one step: what the samplers call (GuidedDenoiser, or a test's stand-in)."""

    def __call__(
        self, latents: torch.Tensor, t: torch.Tensor, *, guided: bool, use_face: bool
    ) -> torch.Tensor: ...


class RowDenoiser(Denoiser, Protocol):
    """A denoiser that can drop batch rows: sample_guided's, since requests may be cancelled mid-run."""

    def select(self, positions: list[int]) -> RowDenoiser: ...


def guided_until(steps: int, guidance_scale: float, unguided_fraction: float) -> int:
    """Index of the first unguided step of a `steps`-step run: the last `unguided_fraction` of the
    steps skip the negative half (adaptive guidance; 0 guides every step), and a guidance scale of 1
    never needs it."""
    if guidance_scale <= 1.0:
        return 0
    return steps - int(round(steps * unguided_fraction))


def initial_noise(seeds: list[int], shape: tuple[int, int, int], *, device, dtype) -> torch.Tensor:
    """[N, *shape] noise, image i drawn from its own CPU generator seeded with seeds[i].

    One generator per image makes every image independent of its batch: the same seed gives the same
    image alone or beside others, on any device.
    """
    noise = [torch.randn((1, *shape), generator=torch.Generator("cpu").manual_seed(s)) for s in seeds]
    return torch.cat(noise).to(device, dtype)


def noised(original: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The original at noise level sigma, in the Euler (VE) form: x = x0 + sigma * eps."""
    return original + noise * sigma


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


def euler_step(
    denoiser: Denoiser,
    scheduler: EulerDiscreteScheduler,
    latents: torch.Tensor,
    i: int,
    *,
    guided: bool,
    use_face: bool,
) -> torch.Tensor:
    """Step i of the schedule: the denoiser's noise prediction, then the scheduler's Euler update."""
    t = scheduler.timesteps[i]
    eps = denoiser(latents, t, guided=guided, use_face=use_face)
    return scheduler.step(eps, t, latents, return_dict=False)[0]


def report(
    callback: ProgressCallback | None,
    stage: str,
    step: int,
    total: int,
    latents: torch.Tensor,
    rows: tuple[int, ...],
) -> None:
    """Tell the callback, if any, where the run is: a Progress is the samplers' small record."""
    if callback is not None:
        callback(Progress(stage=stage, step=step, total=total, latents=latents, rows=rows))


def sample_guided(
    denoiser: RowDenoiser,
    latents: torch.Tensor,
    scheduler: EulerDiscreteScheduler,
    *,
    guided_until: int,
    text_until: int,
    callback: ProgressCallback | None = None,
    rows: ActiveRows | None = None,
    stage: str = "guided",
) -> torch.Tensor:
    """Euler sampling (Karras et al., 2022, Algorithm 2: Euler steps, no churn), classifier-free guided
    before step `guided_until`, and PhotoMaker's prompt switch: the text-only prompt up to and including
    step `text_until` (start_merge_step), the face-conditioned prompt after it.

    latents: [N, 4, h, w], already scaled to the first sigma. With `rows`, cancelled requests are
    dropped between steps; the result holds the rows still in `rows.rows`. `stage` names the progress.
    """
    rows = ActiveRows(latents.shape[0]) if rows is None else rows
    total = len(scheduler.timesteps)
    for i in range(total):
        latents = euler_step(
            denoiser, scheduler, latents, i, guided=i < guided_until, use_face=i > text_until
        )
        report(callback, stage, i + 1, total, latents, tuple(rows.rows))
        kept = rows.prune()
        if kept is not None:
            latents = latents[kept]
            if not kept:
                break
            denoiser = denoiser.select(kept)
    return latents


def first_step(keep: torch.Tensor) -> int:
    """Where differential diffusion may start without changing its result: the step before the first
    release (0 when some pixel is released at step 0; the last step when none ever is).

    Before that step every pixel is reset to the noised original, so those UNet calls are thrown away.
    The step just before the first release is not: the pixels released at step s take step s-1's
    denoised output as their input.
    """
    released = (~keep).flatten(1).any(dim=1)
    first_release = int(released.float().argmax()) if released.any() else keep.shape[0]
    return max(first_release - 1, 0)


def sample_differential(
    denoiser: Denoiser,
    original: torch.Tensor,
    noise: torch.Tensor,
    scheduler: EulerDiscreteScheduler,
    keep: torch.Tensor,
    *,
    guided_until: int,
    callback: ProgressCallback | None = None,
    rows: tuple[int, ...] = (),
    stage: str = "differential",
) -> torch.Tensor:
    """Differential diffusion (Levin & Fried, 2023, Algorithm 1) with an Euler scheduler.

    original, noise: [N, 4, h, w]; keep: [steps, N, 1, h, w] bool (masks.progressive_masks).
    Step 0 starts from the original noised to sigma_0 everywhere. Before each step's UNet call, the
    pixels still kept are reset to the original noised to that step's sigma (`noised`, with one eps for
    every step); released pixels denoise freely. The result is the last Euler step's output everywhere:
    pixels never released are close to the original but not equal to it, and the paste-back
    (crops.paste_back, through the face mask) is what keeps the photo outside the face exact.
    Steps before `first_step(keep)` are skipped: the result is the same, without their UNet calls.
    `rows` names each latent row in the progress reports; `stage` names the progress.
    """
    sigmas = scheduler.sigmas.to(original.device, original.dtype)
    total = len(scheduler.timesteps)
    start = first_step(keep)
    scheduler.set_begin_index(start)
    latents = noised(original, noise, sigmas[start])
    for i in range(start, total):
        latents = torch.where(keep[i], noised(original, noise, sigmas[i]), latents)
        latents = euler_step(denoiser, scheduler, latents, i, guided=i < guided_until, use_face=True)
        report(callback, stage, i - start + 1, total - start, latents, rows)
    return latents
