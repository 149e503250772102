"""Benchmark stage 1 against diffusers' StableDiffusionXLPipeline on the very same components.

    python -m inference.bench                       # tiny preset, CPU or GPU
    python -m inference.bench --full-size --size 1024 --steps 30   # real SDXL architecture, random weights
    python -m inference.bench --fast [SPEC]         # also the fast path (inference.models.fast) vs both

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
import math
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
from inference.portrait.stages.base import BaseStage
from inference.portrait.stages.inputs import StageRequest
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
    """(seconds, peak MB on CUDA or None). On CUDA the seconds are CUDA events' elapsed time, recorded
    on the stream around the whole call: the GPU's own clock, after the last kernel has finished."""
    if device.type != "cuda":
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started, None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000, torch.cuda.max_memory_allocated(device) / 2**20


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


def stock_run(pipe, *, batch: int, steps: int, size: int, guidance: float) -> Callable[[], torch.Tensor]:
    """Stock diffusers painting `batch` images with its own defaults, seeds 0..batch-1 like ours."""

    def run():
        return pipe(
            prompt=[PROMPT] * batch,
            negative_prompt=[NEGATIVE] * batch,
            height=size,
            width=size,
            timesteps=ays_timesteps(steps),
            guidance_scale=guidance,
            output_type="pt",
            generator=[torch.Generator("cpu").manual_seed(s) for s in range(batch)],
        ).images

    return run


def compare(models: ModelRegistry, *, batch: int, steps: int, size: int, guidance: float, repeats: int):
    stage = BaseStage(models)
    requests = [StageRequest(PROMPT, NEGATIVE, seed=s) for s in range(batch)]
    theirs = stock_run(reference_pipeline(models), batch=batch, steps=steps, size=size, guidance=guidance)

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
        runs.append({**{k: results[0].timings[k] for k in PORTRAIT_COLUMNS[:-1]}, "total_s": total})
    per_image = {key: statistics.median(r[key] for r in runs) / batch for key in runs[0]}
    per_image["detailing_steps_run"] = results[0].timings["detailing_steps_run"]  # a count, not seconds
    return per_image


# A portrait's seconds per image: stage 1, then stage 2 and where its time goes (face search, crop +
# VAE encode, prompt encoding, denoising, decode + paste-back), then the whole.
PORTRAIT_COLUMNS = (
    "base_s",
    "detailing_s",
    "detailing_faces_s",
    "detailing_encode_s",
    "detailing_prompt_s",
    "detailing_denoise_s",
    "detailing_decode_s",
    "total_s",
)


def portrait_table(
    title: str, models: ModelRegistry, *, batches, steps: int, size: int, repeats: int, after_row=None
):
    """Print one row per batch size (then call `after_row()`); returns {batch: total seconds per image}."""
    print(
        f"\n| {title}, batch | stage 1 | detailing | faces | crop + encode | prompt | denoise "
        "(steps run) | decode + paste | total s/image |\n|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    totals = {}
    for batch in batches:
        stages = portrait_stages(models, batch=batch, steps=steps, size=size, repeats=repeats)
        totals[batch] = stages["total_s"]
        ran = f" ({stages['detailing_steps_run']} of {steps})"
        cells = [f"{stages[k]:.4f}" + (ran if k == "detailing_denoise_s" else "") for k in PORTRAIT_COLUMNS]
        print(f"| {batch} | {' | '.join(cells)} |", flush=True)
        if after_row is not None:
            after_row()
    return totals


@dataclass
class FastRow:
    """Stage 1 at one batch size: our eager path, our fast path and stock diffusers, and the fast path's
    drift from eager on the same seeds."""

    batch: int
    eager_s: float
    fast_s: float
    diffusers_s: float
    fast_peak_mb: float | None
    max_latent_diff: float
    psnr_db: float

    def row(self) -> str:
        per = lambda s: f"{s / self.batch:.4f}"  # noqa: E731
        peak = "n/a" if self.fast_peak_mb is None else f"{self.fast_peak_mb:,.0f}"
        return (
            f"| {self.batch} | {per(self.eager_s)} | {per(self.fast_s)} | {per(self.diffusers_s)} | "
            f"**{self.fast_s / self.diffusers_s:.3f}** | {self.eager_s / self.diffusers_s:.3f} | {peak} | "
            f"{self.max_latent_diff:.2e} | {self.psnr_db:.1f} |"
        )


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1]; identical images give infinity."""
    mse = torch.mean((image.float() - reference.float()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def compare_fast(models, fast_models, *, batch: int, steps: int, size: int, guidance: float, repeats: int):
    """Eager vs fast vs diffusers (its defaults) on the same components, production settings (adaptive
    guidance for ours), the order rotated every repeat after a warm-up of each."""
    eager, fast = BaseStage(models), BaseStage(fast_models)
    diffusers = stock_run(reference_pipeline(models), batch=batch, steps=steps, size=size, guidance=guidance)
    requests = [StageRequest(PROMPT, NEGATIVE, seed=s) for s in range(batch)]
    params = GenerationParams(
        width=size, height=size, steps=steps, guidance_scale=guidance, start_merge_step=min(steps, 10)
    )

    contestants = {"eager": lambda: eager.run(requests, params), "fast": lambda: fast.run(requests, params)}
    contestants["diffusers"] = diffusers
    reference, ours = contestants["eager"](), contestants["fast"]()  # warm-up, and the drift
    contestants["diffusers"]()
    runs = {name: [] for name in contestants}
    names = list(contestants)
    for i in range(repeats):
        for name in names[i % 3 :] + names[: i % 3]:
            runs[name].append(_timed(contestants[name], models.device))
    median = {name: statistics.median(r[0] for r in times) for name, times in runs.items()}
    peak = None if runs["fast"][0][1] is None else max(r[1] for r in runs["fast"])
    return FastRow(
        batch,
        median["eager"],
        median["fast"],
        median["diffusers"],
        peak,
        (ours.latents.float() - reference.latents.float()).abs().max().item(),
        psnr(ours.images, reference.images),
    )


def fast_table(models, spec: str, *, batches, steps, size, guidance, repeats) -> tuple:
    """(the fast registry, the table's heading, its rows: measured one by one as they are read)."""
    from inference.models.fast import FastPath, prepare

    fast = FastPath.parse(spec, device=models.device)
    fast_models = prepare(models, fast, copy=True)
    started = time.perf_counter()
    BaseStage(fast_models).run(
        [StageRequest(PROMPT, NEGATIVE, seed=0)],
        GenerationParams(width=size, height=size, steps=5, guidance_scale=guidance, start_merge_step=1),
    )  # compiles both graphs of this resolution (a batch of 1; 2+ rows): what a worker's warm-up pays
    warm_s = time.perf_counter() - started
    heading = (
        f"\nFast path: {fast.describe()}; compile + warm-up {warm_s:.1f} s\n"
        "| batch | eager s/image | fast s/image | diffusers s/image | fast/diffusers | eager/diffusers | "
        "fast peak MB | max latent diff (fast vs eager) | PSNR dB (fast vs eager) |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    rows = (
        compare_fast(models, fast_models, batch=b, steps=steps, size=size, guidance=guidance, repeats=repeats)
        for b in batches
    )
    return fast_models, heading, rows


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
    parser.add_argument(
        "--fast",
        nargs="?",
        const="default",
        default=None,
        help="also the fast path vs eager vs diffusers, with its drift; SPEC as NARCIS_FAST_PATH "
        "(default: 'auto' on a GPU, 'compile' on a CPU)",
    )
    parser.add_argument(
        "--fast-only", action="store_true", help="with --fast: skip the plain ours-vs-diffusers table"
    )
    args = parser.parse_args(argv)
    if args.fast_only and args.fast is None:
        parser.error("--fast-only needs --fast")
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
    results, fast_rows = [], []
    bars = StageBars()  # on a terminal only: stdout keeps just the tables
    plain_batches = [] if args.fast_only else args.batches
    fast_batches = args.batches if args.fast is not None else []
    measured = 0
    planned = (2 + args.portrait) * len(plain_batches) + (1 + args.portrait) * len(fast_batches)  # rows

    def advance() -> None:
        nonlocal measured
        measured += 1
        bars.step("benchmark", measured, planned)

    if plain_batches:
        print(
            "| comparison | batch | ours s/image | diffusers s/image | ours images/s | diffusers images/s | "
            "ours peak MB | diffusers peak MB | ratio (ours/diffusers) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
    for batch in plain_batches:  # rows print as they finish: a run cut short still reports what it measured
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
            advance()
    portraits = dict(
        batches=args.batches, steps=args.steps, size=args.size, repeats=args.repeats, after_row=advance
    )
    if args.portrait and not args.fast_only:
        per_image = portrait_table("portrait", models, **portraits)
        if 1 in per_image and 4 in per_image:
            # One batch of 4 against the same 4 portraits run one after another.
            print(f"\nbatch-4 throughput vs 4 sequential runs: {per_image[1] / per_image[4]:.2f}x")
    if args.fast is not None:
        on_gpu = models.device.type == "cuda"
        spec = args.fast if args.fast != "default" else ("auto" if on_gpu else "compile")
        fast_models, heading, measured_rows = fast_table(
            models,
            spec,
            batches=args.batches,
            steps=args.steps,
            size=args.size,
            guidance=args.guidance,
            repeats=args.repeats,
        )
        print(heading, flush=True)
        for row in measured_rows:
            print(row.row(), flush=True)
            fast_rows.append(row)
            advance()
        if args.portrait:
            portrait_table("portrait on the fast path", fast_models, **portraits)
    bars.close()
    if args.json_path:
        with open(args.json_path, "w") as handle:
            rows = [{**asdict(r), "ratio": r.ratio} for r in results]
            for row in fast_rows:
                rows.append({"label": "fast path", **asdict(row), "ratio": row.fast_s / row.diffusers_s})
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
