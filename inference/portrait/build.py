"""The one way to build a portrait pipeline: the worker, the CLI, the demo seeding and the bench use it.

pipeline = build("tiny")            # offline preset: OpenCV faces, portraits kept without a face
pipeline = build("/models")         # a models folder: insightface's buffalo_l, a face or a refund
"""

from __future__ import annotations

from pathlib import Path

from inference.faces import FaceAnalyzer, face_analyzer
from inference.models.fast import FastPath, prepare
from inference.models.presets import is_tiny
from inference.models.registry import TINY, ModelRegistry
from inference.portrait.pipeline import PortraitPipeline


def build(
    models: str | Path | ModelRegistry | None = TINY,
    *,
    device: str | None = None,
    dtype: str | None = None,
    analyzer: FaceAnalyzer | None = None,
    fast: str | FastPath = "off",
) -> PortraitPipeline:
    """A pipeline on a models folder, the tiny preset, or models already loaded.

    The tiny preset paints textures, never faces: there a portrait whose face cannot be found is still
    delivered (undetailed) instead of failing. `analyzer` replaces the models' own face analysis (the
    bench's fixed face box on random weights). `fast`: the fast path (inference.models.fast), applied in
    place: a FastPath, or its text form ('off', 'auto', 'compile,channels-last', ...).
    """
    registry = models if isinstance(models, ModelRegistry) else ModelRegistry.load(models, device, dtype)
    if isinstance(fast, str):
        fast = FastPath.parse(fast, device=registry.device)
    registry = prepare(registry, fast)
    offline = is_tiny(registry.name)
    if analyzer is None:
        analyzer = face_analyzer(None if offline else registry.name)
    return PortraitPipeline(registry, analyzer, require_face=not offline)
