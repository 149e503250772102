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
    return parser


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
        return {"generate": generate}[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
