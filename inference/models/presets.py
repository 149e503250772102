"""The parameters each models source paints with when a job does not say otherwise.

A real models folder paints with the catalogue's defaults (1024 px, 30 + 20 steps). The tiny preset
paints toy textures: at 1024 px they would only take longer on a laptop's CPU, so it defaults smaller.
The job queue resolves these once, at submit: a queued job keeps what it was given.
"""

from __future__ import annotations

from pathlib import Path

from inference.params import GenerationParams

# The offline preset's name. Here, not in registry.py: every Django process reads the defaults at import
# time, and registry.py brings torch, diffusers and transformers (4.3 s of a process's start).
TINY = "tiny"

TINY_DEFAULTS = GenerationParams(
    width=256, height=256, steps=20, start_merge_step=6, detailing_steps=12, detailing_resolution=256
)


def is_tiny(source: str | Path | None) -> bool:
    return source is None or str(source) in ("", TINY)


def default_params(source: str | Path | None) -> GenerationParams:
    """The defaults for a models folder, or for the tiny preset when `source` is "tiny", "" or None."""
    return TINY_DEFAULTS if is_tiny(source) else GenerationParams()
