"""Benchmark stage 1 against diffusers' StableDiffusionXLPipeline on the very same components.

    python -m inference.bench                       # tiny preset, CPU or GPU
    python -m inference.bench --full-size --size 1024 --steps 30   # real SDXL architecture, random weights

Both sides get the same UNet, VAE, text encoders, tokenizers, scheduler class, AYS timesteps, size,
prompts and seeds. Each measurement alternates ours and theirs (order flipped every repeat) after a
warm-up of each, so drift in machine load hits both. Two comparisons per batch size:
    equal work          ours with adaptive guidance off vs diffusers (guidance on every step)
    adaptive guidance   ours as production runs it (no negative half in the last 20%) vs diffusers
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from inference.faces.analysis import CentredFace
from inference.models.devices import pick_device
from inference.models.registry import ModelRegistry
from inference.params import GenerationParams
from inference.portrait.scheduler import ays_timesteps
from inference.portrait.stages.base import BaseRequest, BaseStage
from inference.quiet import quiet_libraries
from inference.terminal import StageBars

PROMPT = "portrait of a person, corporate confidence, studio lighting, sharp focus, 85mm"
NEGATIVE = "blurry, low quality, deformed"


@dataclass
class Comparison:
    label: str
    batch: int
    ours_s: float  # median seconds per batch
    theirs_s: float
    ours_peak_mb: float | None
    theirs_peak_mb: float | None

    @property
    def ratio(self) -> float:
        return self.ours_s / self.theirs_s

    def row(self) -> str:
        per_image = lambda s: s / self.batch  # noqa: E731
        mem = lambda mb: "n/a" if mb is None else f"{mb:,.0f}"  # noqa: E731
        return (
            f"| {self.label} | {self.batch} | {per_image(self.ours_s):.4f} | "
            f"{per_image(self.theirs_s):.4f} | "
            f"{self.batch / self.ours_s:.2f} | {self.batch / self.theirs_s:.2f} | "
            f"{mem(self.ours_peak_mb)} | {mem(self.theirs_peak_mb)} | **{self.ratio:.3f}** |"
        )


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float | None]:
    """(seconds, peak MB on CUDA or None)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return time.perf_counter() - started, torch.cuda.max_memory_allocated(device) / 2**20
    return time.perf_counter() - started, None


def measure(ours: Callable, theirs: Callable, *, repeats: int, device: torch.device) -> tuple[list, list]:
    ours(), theirs()  # warm-up: allocator, kernels, lazy imports
    ours_runs, theirs_runs = [], []
    for i in range(repeats):
        pair = [(ours, ours_runs), (theirs, theirs_runs)]
        for fn, runs in pair if i % 2 == 0 else pair[::-1]:
            runs.append(_timed(fn, device))
    return ours_runs, theirs_runs


def _summary(label: str, batch: int, ours_runs: list, theirs_runs: list) -> Comparison:
    peak = lambda runs: None if runs[0][1] is None else max(r[1] for r in runs)  # noqa: E731
    return Comparison(
        label,
        batch,
        statistics.median(r[0] for r in ours_runs),
        statistics.median(r[0] for r in theirs_runs),
        peak(ours_runs),
        peak(theirs_runs),
    )


def reference_pipeline(models: ModelRegistry):
    from diffusers import StableDiffusionXLPipeline

    vae = models.vae
    if vae.dtype != models.dtype:
        # Stock diffusers in half precision holds the VAE in half too and upcasts it around each decode
        # (force_upcast); handed our fp32 VAE it would feed it half latents and fail.
        vae = copy.deepcopy(vae).to(models.dtype)
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=models.text_encoder,
        text_encoder_2=models.text_encoder_2,
        tokenizer=models.tokenizer,
        tokenizer_2=models.tokenizer_2,
        unet=models.unet,
        scheduler=models.new_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def compare(models: ModelRegistry, *, batch: int, steps: int, size: int, guidance: float, repeats: int):
    stage, pipe = BaseStage(models), reference_pipeline(models)
    seeds = list(range(batch))
    requests = [BaseRequest(PROMPT, NEGATIVE, seed=s) for s in seeds]

    def theirs():
        return pipe(
            prompt=[PROMPT] * batch,
            negative_prompt=[NEGATIVE] * batch,
            height=size,
            width=size,
            timesteps=ays_timesteps(steps),
            guidance_scale=guidance,
            output_type="pt",
            generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
        ).images

    results = []
    for label, adaptive in (("equal work", False), ("adaptive guidance", True)):
        params = GenerationParams(
            width=size,
            height=size,
            steps=steps,
            guidance_scale=guidance,
            adaptive_guidance=adaptive,
            start_merge_step=min(steps, 10),
        )
        ours_runs, theirs_runs = measure(
            lambda p=params: stage.run(requests, p).images, theirs, repeats=repeats, device=models.device
        )
        results.append(_summary(label, batch, ours_runs, theirs_runs))
    return results


def portrait_stages(models: ModelRegistry, *, batch: int, steps: int, size: int, repeats: int) -> dict:
    """Median seconds per image of each stage of a full portrait (stage 1 + face detailing)."""
    from inference.portrait.build import build
    from inference.portrait.pipeline import PortraitRequest

    pipeline = build(models, analyzer=CentredFace())
    params = GenerationParams(
        width=size,
        height=size,
        steps=steps,
        start_merge_step=min(steps, 10),
        detailing_steps=steps,
        detailing_resolution=size,
    )
    requests = [
        PortraitRequest(f"bench-{i}", PROMPT, NEGATIVE, params=params.replace(seed=i)) for i in range(batch)
    ]
    pipeline.run(requests)  # warm-up
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        results = pipeline.run(requests)
        total = time.perf_counter() - started
        runs.append({**{k: results[0].timings[k] for k in ("base_s", "detailing_s")}, "total_s": total})
    return {key: statistics.median(r[key] for r in runs) / batch for key in runs[0]}


def machine_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads (torch {torch.__version__})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inference.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", default="tiny", help="models folder or 'tiny' (ignored with --full-size)")
    parser.add_argument("--full-size", action="store_true", help="real SDXL architecture, random weights")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--json", dest="json_path", default=None, help="also write the results as JSON")
    parser.add_argument("--portrait", action="store_true", help="also time a full portrait, stage by stage")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    quiet_libraries()

    if args.full_size:
        from inference.models.full_size import full_size_components

        models = ModelRegistry.from_components(
            "sdxl-architecture (random weights)",
            full_size_components(device=pick_device(args.device)),
            device=args.device,
            dtype=args.dtype,
        )
    else:
        models = ModelRegistry.load(args.models, device=args.device, dtype=args.dtype)

    print(
        f"Machine: {machine_description(models.device)}; models: {models.name}; dtype: {models.dtype}; "
        f"{args.size}x{args.size}, {args.steps} AYS steps, guidance {args.guidance}, "
        f"median of {args.repeats} alternating repeats after warm-up"
    )
    print(
        "| comparison | batch | ours s/image | diffusers s/image | ours images/s | diffusers images/s | "
        "ours peak MB | diffusers peak MB | ratio (ours/diffusers) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    bars = StageBars()  # on a terminal only: stdout keeps just the tables
    measured, planned = 0, len(args.batches) * (2 + args.portrait)
    for batch in args.batches:  # rows print as they finish: a run cut short still reports what it measured
        for result in compare(
            models,
            batch=batch,
            steps=args.steps,
            size=args.size,
            guidance=args.guidance,
            repeats=args.repeats,
        ):
            print(result.row(), flush=True)
            results.append(result)
            measured += 1
            bars.step("benchmark", measured, planned)
    if args.portrait:
        print(
            "\n| portrait, batch | stage 1 s/image | detailing s/image | total s/image |\n|---|---|---|---|"
        )
        per_image = {}
        for batch in args.batches:
            stages = portrait_stages(
                models, batch=batch, steps=args.steps, size=args.size, repeats=args.repeats
            )
            per_image[batch] = stages["total_s"]
            measured += 1
            bars.step("benchmark", measured, planned)
            cells = " | ".join(f"{stages[key]:.4f}" for key in ("base_s", "detailing_s", "total_s"))
            print(f"| {batch} | {cells} |", flush=True)
        if 1 in per_image and 4 in per_image:
            # One batch of 4 against the same 4 portraits run one after another.
            print(f"\nbatch-4 throughput vs 4 sequential runs: {per_image[1] / per_image[4]:.2f}x")
    bars.close()
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump([{**asdict(r), "ratio": r.ratio} for r in results], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
