"""Command line.

    python -m inference generate --prompt "..." --out out.png [--models DIR|tiny] [--steps 10] [--seed 1]
    python -m inference generate --face photo.jpg --prompt "portrait of a woman img, ..." --out out.png

Without --face: stage 1 only, prints timings. With --face: both stages (identity, detailing); writes the
portrait and, beside it, a JSON file of its metadata (out.json).
"""

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
    generate = commands.add_parser(
        "generate", help="a portrait (with --face) or a stage-1 image from a prompt"
    )
    generate.add_argument("--prompt", required=True, help="with --face, mark the sitter: 'a woman img, ...'")
    generate.add_argument("--negative-prompt", default="")
    generate.add_argument(
        "--face",
        default=None,
        help="the sitter's photo (a file, or 'astronaut' for scikit-image's sample): both stages",
    )
    generate.add_argument("--out", required=True, type=Path, help="image file to write (.png, .jpg, .webp)")
    generate.add_argument(
        "--models",
        default=os.environ.get("NARCIS_MODELS_DIR") or "tiny",
        help="models folder, or 'tiny' for the offline preset (default: $NARCIS_MODELS_DIR, else tiny)",
    )
    generate.add_argument("--steps", type=int, default=10)
    generate.add_argument("--detailing-steps", type=int, default=10)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--size", type=int, default=128, help="width and height in pixels (multiple of 8)")
    generate.add_argument("--guidance", type=float, default=5.0)
    generate.add_argument("--no-adaptive-guidance", action="store_true", help="guide every step")
    generate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    generate.add_argument(
        "--dtype", default=None, help="fp32, fp16, bf16 (default: fp16 on cuda, fp32 on cpu)"
    )
    return parser


def _read_photo(name: str):
    import numpy as np
    from PIL import Image, ImageOps

    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    return np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"))


def _stage_one(args: argparse.Namespace, models) -> dict:
    from inference.portrait.images import to_pil
    from inference.portrait.stages.base import BaseParams, BaseRequest, BaseStage

    params = BaseParams(
        width=args.size,
        height=args.size,
        steps=args.steps,
        guidance_scale=args.guidance,
        adaptive_guidance=not args.no_adaptive_guidance,
    )
    result = BaseStage(models).run([BaseRequest(args.prompt, args.negative_prompt, seed=args.seed)], params)
    to_pil(result.images)[0].save(args.out)
    return {"status": "succeeded", "timings": result.timings}


def _portrait(args: argparse.Namespace, models) -> dict:
    from dataclasses import asdict

    from inference.faces import face_analyzer
    from inference.models.registry import TINY
    from inference.portrait.pipeline import PortraitParams, PortraitPipeline, PortraitRequest

    offline = models.name == TINY
    # The tiny preset paints textures, not faces: keep its portraits even when stage 2 finds no face.
    pipeline = PortraitPipeline(
        models, face_analyzer(None if offline else args.models), require_face=not offline
    )
    params = PortraitParams(
        width=args.size,
        height=args.size,
        steps=args.steps,
        guidance_scale=args.guidance,
        adaptive_guidance=not args.no_adaptive_guidance,
        detailing_steps=args.detailing_steps,
        detailing_resolution=args.size,
        start_merge_step=args.steps // 5,
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
    metadata = {key: value for key, value in asdict(result).items() if key != "image"}
    if result.ok:
        result.image.save(args.out)
        args.out.with_suffix(".json").write_text(json.dumps(metadata, indent=2, default=list))
    return metadata


def generate(args: argparse.Namespace) -> int:
    from inference.models.registry import ModelRegistry

    started = time.perf_counter()
    models = ModelRegistry.load(args.models, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = _portrait(args, models) if args.face else _stage_one(args, models)
    report |= {
        "out": str(args.out),
        "models": models.name,
        "device": str(models.device),
        "seed": args.seed,
        "load_s": round(load_s, 4),
        "total_s": round(time.perf_counter() - started, 4),
        "timings": {k: round(v, 4) for k, v in report.get("timings", {}).items()},
    }
    print(json.dumps(report, default=list))
    return 0 if report["status"] == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet_libraries()
    try:
        return {"generate": generate}[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
