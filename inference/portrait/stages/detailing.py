"""Stage 2: each face cropped, magnified and re-denoised by differential diffusion, then pasted back.

For every base image: find the largest face, crop a padded square around it, magnify it to the
detailing resolution, VAE-encode it, repaint it under a progressive mask with the face-conditioned
prompt, decode, and blend it back through a feathered mask after matching its colours. All faces of a
batch go through the UNet together, in `sampling.sample_differential`.

Where we differ from diffusers' SDXL differential img2img pipeline, on purpose:
- x0 is the VAE posterior's mode, not a sample: the same photo and seed give the same portrait, and the
  sample's extra noise would only be drowned by the noise added at the first step.
- an empty negative prompt is all zeros (TextEncoder.encode_with_negatives), as SDXL's own pipelines
  treat a missing one: the face prompt is guided against "nothing", not against the encoding of "".
- the change map reaches the latent grid by area averaging (masks.to_latent_grid), not bilinear
  without antialias: each latent pixel gets the mean of the 8x8 pixels it covers (equal at 2x, within
  0.01 at SDXL's 8x).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from inference.faces import Face, FaceAnalyzer, FaceError, largest_face
from inference.models import vae
from inference.models.registry import ModelRegistry
from inference.params import GenerationParams
from inference.portrait.crops import Box, crop_resized, paste_back, square_box
from inference.portrait.images import to_uint8
from inference.portrait.masks import change_map, face_mask, progressive_masks, to_latent_grid
from inference.portrait.progress import ProgressCallback
from inference.portrait.sampling import (
    GuidedDenoiser,
    first_step,
    guided_until,
    initial_noise,
    sample_differential,
)
from inference.portrait.scheduler import prepare_scheduler
from inference.portrait.stages.inputs import StageRequest, batch_conditioning, unguided_fraction
from inference.text.encoder import TextEncoder

STAGE = "detailing"
SEED_OFFSET = 1_000_003  # stage 2 draws different noise from stage 1 for the same request seed


@dataclass
class DetailResult:
    images: torch.Tensor  # [N, 3, H, W]; images whose face could not be found come back unchanged
    faces: list[Face | None]
    boxes: list[Box | None]
    errors: dict[int, FaceError] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


class DetailingStage:
    def __init__(self, models: ModelRegistry, analyzer: FaceAnalyzer):
        self.models = models
        self.analyzer = analyzer
        self.text_encoder = TextEncoder(models)

    def _find_faces(self, images: torch.Tensor) -> tuple[list[Face | None], dict[int, FaceError]]:
        faces, errors = [], {}
        for index, image in enumerate(to_uint8(images)):
            try:
                faces.append(largest_face(self.analyzer, np.ascontiguousarray(image)))
            except FaceError as error:
                faces.append(None)
                errors[index] = error
        return faces, errors

    @torch.inference_mode()
    def run(
        self,
        images: torch.Tensor,
        requests: list[StageRequest],
        params: GenerationParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> DetailResult:
        """images: [N, 3, H, W] in [0, 1], one request each. Reads the detailing_* parameters and the
        guidance ones (guidance_scale, adaptive_guidance, unguided_fraction)."""
        models, timings = self.models, {}
        started = time.perf_counter()
        faces, errors = self._find_faces(images)
        timings["faces_s"] = time.perf_counter() - started
        rows = [i for i, face in enumerate(faces) if face is not None]
        result = DetailResult(
            images=images.clone(), faces=faces, boxes=[None] * len(faces), errors=errors, timings=timings
        )
        if not rows:
            return result

        height, width = images.shape[-2:]
        boxes = {i: square_box(faces[i], width, height, padding=params.detailing_padding) for i in rows}
        masks = {i: torch.from_numpy(face_mask(height, width, faces[i])) for i in rows}
        size = params.detailing_resolution
        latent = size // models.vae_scale_factor

        started = time.perf_counter()
        crops = crop_resized(images[rows].float(), [boxes[i] for i in rows], size)
        original = vae.encode(models.vae, crops).to(models.dtype)
        mask_crops = crop_resized(
            torch.stack([masks[i] for i in rows])[:, None], [boxes[i] for i in rows], size
        )
        change = to_latent_grid(change_map(mask_crops[:, 0], params.detailing_strength), latent, latent)
        timings["encode_s"] = time.perf_counter() - started

        started = time.perf_counter()
        chosen = [requests[i] for i in rows]
        conditioning = batch_conditioning(self.text_encoder, chosen, height=size, width=size)
        timings["prompt_s"] = time.perf_counter() - started

        started = time.perf_counter()
        scheduler = models.new_scheduler()
        prepare_scheduler(scheduler, params.detailing_steps, models.device)
        keep = progressive_masks(change.to(models.device), params.detailing_steps)[
            :, :, None
        ]  # [steps, M, 1, h, w]
        timings["steps_run"] = params.detailing_steps - first_step(keep)
        noise = initial_noise(
            [r.seed + SEED_OFFSET for r in chosen],
            tuple(original.shape[1:]),
            device=models.device,
            dtype=models.dtype,
        )
        denoiser = GuidedDenoiser(models.unet, scheduler, conditioning, params.guidance_scale)
        latents = sample_differential(
            denoiser,
            original,
            noise,
            scheduler,
            keep,
            guided_until=guided_until(
                params.detailing_steps, params.guidance_scale, unguided_fraction(params)
            ),
            callback=on_progress,
            rows=tuple(rows),
            stage=STAGE,
        )
        timings["denoise_s"] = time.perf_counter() - started

        started = time.perf_counter()
        detailed = vae.decode(models.vae, latents).cpu()
        for row, index in enumerate(rows):
            result.images[index] = paste_back(
                images[index].float().cpu(), detailed[row], boxes[index], masks[index]
            )
            result.boxes[index] = boxes[index]
        timings["decode_s"] = time.perf_counter() - started
        return result
