"""Command line.

    python -m inference generate --prompt "..." --out out.png [--models DIR|tiny] [--steps 10] [--seed 1]
    python -m inference generate --face photo.jpg --prompt "portrait of a woman img, ..." --out out.png

Without --face: stage 1 only, prints timings. With --face: both stages (identity, detailing); writes the
portrait and, beside it, a JSON file of its metadata (out.json). Every generation parameter of the
catalogue (inference/params.py) is a flag (`--guidance-scale 6`, `--no-adaptive-guidance`); unset ones
take the models' defaults (inference/models/presets.py). `--size N` sets width, height and the
detailing resolution together.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from inference.params import SPECS, GenerationParams
from inference.quiet import quiet_libraries
from inference.terminal import StageBars


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
    generate.add_argument("--size", type=int, default=None, help="width, height and detailing_resolution")
    generate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    generate.add_argument(
        "--dtype", default=None, help="fp32, fp16, bf16 (default: fp16 on cuda, fp32 on cpu)"
    )
    catalogue = generate.add_argument_group("generation parameters (default: the models' defaults)")
    for spec in SPECS.values():
        flag = "--" + spec.name.replace("_", "-")
        if spec.type == "bool":
            catalogue.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=spec.help)
        else:
            kind = {"int": int, "float": float}[spec.type]
            catalogue.add_argument(flag, type=kind, default=None, help=spec.describe())
    return parser


def _params(args: argparse.Namespace):
    """The catalogue flags given, over the models' defaults; seed 1 unless given (reproducible runs)."""
    from inference.models.presets import default_params

    given = {name: getattr(args, name) for name in SPECS if getattr(args, name) is not None}
    if args.size is not None:
        given = {"width": args.size, "height": args.size, "detailing_resolution": args.size, **given}
    return GenerationParams.parse({"seed": 1, **given}, defaults=default_params(args.models))


def _read_photo(name: str):
    import numpy as np
    from PIL import Image, ImageOps

    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    return np.asarray(ImageOps.exif_transpose(Image.open(name)).convert("RGB"))


def _stage_one(args: argparse.Namespace, models, params, bars: StageBars) -> dict:
    from inference.portrait.images import to_pil
    from inference.portrait.stages.base import BaseStage
    from inference.portrait.stages.inputs import StageRequest

    request = StageRequest(args.prompt, args.negative_prompt, seed=params.seed)
    result = BaseStage(models).run([request], params, on_progress=bars.on_progress)
    to_pil(result.images)[0].save(args.out)
    return {"status": "succeeded", "timings": result.timings, "params": params.model_dump()}


def _portrait(args: argparse.Namespace, models, params, bars: StageBars) -> dict:
    from dataclasses import asdict

    from inference.portrait.build import build
    from inference.portrait.pipeline import PortraitRequest

    request = PortraitRequest(
        "cli", args.prompt, args.negative_prompt, face_image=_read_photo(args.face), params=params
    )
    [result] = build(models).run([request], on_progress=bars.on_request_progress)
    metadata = {key: value for key, value in asdict(result).items() if key != "image"}
    if result.ok:
        result.image.save(args.out)
        args.out.with_suffix(".json").write_text(json.dumps(metadata, indent=2, default=list))
    return metadata


def generate(args: argparse.Namespace) -> int:
    from inference.models.registry import ModelRegistry
    from inference.models.threads import ProcessKind, size_torch_threads

    size_torch_threads(ProcessKind.WORKER)  # all the cores, unless NARCIS_TORCH_THREADS or _LOCAL_WORKERS

    params = _params(args)  # bad parameters are refused before any model loads
    started = time.perf_counter()
    with StageBars() as bars:  # on a terminal only: piped, stderr stays empty
        bars.step("loading models", 0, 1)
        models = ModelRegistry.load(args.models, device=args.device, dtype=args.dtype)
        bars.step("loading models", 1, 1)
        load_s = time.perf_counter() - started
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = (_portrait if args.face else _stage_one)(args, models, params, bars)
    report |= {
        "out": str(args.out),
        "models": models.name,
        "device": str(models.device),
        "seed": params.seed,
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
