"""Command line: `python -m inference generate --prompt "..." --out out.png [--models DIR|tiny] ...`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from inference.quiet import quiet_libraries


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference", description="Narcis inference tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="stage 1 (SDXL) from a prompt to an image")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--negative-prompt", default="")
    generate.add_argument("--out", required=True, type=Path, help="image file to write (.png, .jpg, .webp)")
    generate.add_argument(
        "--models",
        default=os.environ.get("NARCIS_MODELS_DIR") or "tiny",
        help="models folder, or 'tiny' for the offline preset (default: $NARCIS_MODELS_DIR, else tiny)",
    )
    generate.add_argument("--steps", type=int, default=10)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--size", type=int, default=128, help="width and height in pixels (multiple of 8)")
    generate.add_argument("--guidance", type=float, default=5.0)
    generate.add_argument("--no-adaptive-guidance", action="store_true", help="guide every step")
    generate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    generate.add_argument(
        "--dtype", default=None, help="fp32, fp16, bf16 (default: fp16 on cuda, fp32 on cpu)"
    )
    portrait = commands.add_parser("portrait", help="both stages: a portrait from a face photo and a prompt")
    portrait.add_argument(
        "--face",
        required=True,
        help="the sitter's photo (a file), or 'astronaut' for scikit-image's sample photo",
    )
    portrait.add_argument("--prompt", default="portrait of a woman img, oil painting, dramatic light")
    portrait.add_argument("--negative-prompt", default="blurry, low quality")
    portrait.add_argument("--out", required=True, type=Path)
    portrait.add_argument("--models", default=os.environ.get("NARCIS_MODELS_DIR") or "tiny")
    portrait.add_argument("--steps", type=int, default=10)
    portrait.add_argument("--detailing-steps", type=int, default=10)
    portrait.add_argument("--seed", type=int, default=1)
    portrait.add_argument("--size", type=int, default=128)
    portrait.add_argument("--device", default=None)
    portrait.add_argument("--dtype", default=None)
    return parser


def _read_photo(name: str):
    import numpy as np
    from PIL import Image, ImageOps

    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    return np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"))


def portrait(args: argparse.Namespace) -> int:
    from inference.faces import face_analyzer
    from inference.pipeline import PortraitParams, PortraitPipeline, PortraitRequest
    from inference.registry import TINY, ModelRegistry

    started = time.perf_counter()
    models = ModelRegistry.load(args.models, device=args.device, dtype=args.dtype)
    offline = models.name == TINY
    # The tiny preset paints textures, not faces: keep its portraits even when stage 2 finds no face.
    pipeline = PortraitPipeline(
        models, face_analyzer(None if offline else args.models), require_face=not offline
    )
    params = PortraitParams(
        width=args.size,
        height=args.size,
        steps=args.steps,
        detailing_steps=args.detailing_steps,
        detailing_resolution=args.size,
        start_merge_step=min(args.steps, 10) // 2,
    )
    request = PortraitRequest(
        "cli",
        args.prompt,
        args.negative_prompt,
        seed=args.seed,
        face_image=_read_photo(args.face),
        params=params,
    )
    [result] = pipeline.run([request])
    report = {
        "status": result.status,
        "models": models.name,
        "seed": result.seed,
        "face_box": result.face_box,
        "identity_score": result.identity_score,
        "notes": result.notes,
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "total_s": round(time.perf_counter() - started, 4),
    }
    if not result.ok:
        print(json.dumps({**report, "error": result.error}))
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.image.save(args.out)
    print(json.dumps({**report, "out": str(args.out)}))
    return 0


def generate(args: argparse.Namespace) -> int:
    from inference.images import to_pil
    from inference.registry import ModelRegistry
    from inference.stages.base import BaseParams, BaseRequest, BaseStage

    started = time.perf_counter()
    models = ModelRegistry.load(args.models, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - started
    params = BaseParams(
        width=args.size,
        height=args.size,
        steps=args.steps,
        guidance_scale=args.guidance,
        adaptive_guidance=not args.no_adaptive_guidance,
    )
    result = BaseStage(models).run([BaseRequest(args.prompt, args.negative_prompt, seed=args.seed)], params)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    to_pil(result.images)[0].save(args.out)
    timings = {"load_s": load_s, **result.timings, "total_s": time.perf_counter() - started}
    print(
        json.dumps(
            {
                "out": str(args.out),
                "models": models.name,
                "device": str(models.device),
                "seed": args.seed,
                "timings": {k: round(v, 4) for k, v in timings.items()},
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet_libraries()
    try:
        return {"generate": generate, "portrait": portrait}[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
