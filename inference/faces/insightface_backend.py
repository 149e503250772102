"""Production face analysis: insightface's buffalo_l pack (SCRFD detection, ArcFace recognition,
106-point landmarks, gender/age), read from $NARCIS_MODELS_DIR/insightface/models/buffalo_l.

Nothing is downloaded: a missing file is an error naming it. Detection runs at 640 px first and steps
down to 256 px when it finds nothing (small or very close-up faces are found at smaller sizes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime

from inference.faces.analysis import Face, check_image

PACK = Path("insightface") / "models" / "buffalo_l"
PACK_FILES = {
    "detection": "det_10g.onnx",
    "recognition": "w600k_r50.onnx",
    "landmark_2d_106": "2d106det.onnx",
    "genderage": "genderage.onnx",
}
DET_SIZES = (640, 576, 512, 448, 384, 320, 256)


class FaceModelsMissing(FileNotFoundError):
    """The insightface pack is incomplete; the message names every missing file."""


def missing_pack_files(models_dir: Path) -> list[str]:
    pack = Path(models_dir) / PACK
    return [str(PACK / name) for name in PACK_FILES.values() if not (pack / name).is_file()]


def execution_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, the CPU always as the fallback."""
    available = onnxruntime.get_available_providers()
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + [
        "CPUExecutionProvider"
    ]


def _default_app(pack: Path, providers: list[str]):
    from insightface.app import FaceAnalysis

    # `name` as a directory: insightface then reads it in place and never tries a download.
    return FaceAnalysis(
        name=str(pack), root=str(pack.parent.parent), allowed_modules=list(PACK_FILES), providers=providers
    )


def to_face(found) -> Face:
    """An insightface result -> our Face (its gender is 0 = female, 1 = male)."""
    landmarks = getattr(found, "landmark_2d_106", None)
    embedding = getattr(found, "embedding", None)
    gender = getattr(found, "gender", None)
    age = getattr(found, "age", None)
    return Face(
        bbox=tuple(float(v) for v in found.bbox[:4]),
        score=float(found.det_score),
        keypoints=np.asarray(found.kps, dtype=np.float32).reshape(5, 2),
        landmarks=None if landmarks is None else np.asarray(landmarks, dtype=np.float32).reshape(106, 2),
        # Raw (not L2-normalised): PhotoMaker was trained on it; cosine scores normalise themselves.
        embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32).reshape(512),
        age=None if age is None else int(age),
        gender=None if gender is None else ("male" if int(gender) == 1 else "female"),
    )


class InsightFaceAnalyzer:
    def __init__(self, models_dir: str | Path, *, app_factory: Callable | None = None):
        missing = missing_pack_files(Path(models_dir))
        if missing:
            raise FaceModelsMissing(
                f"The face models are incomplete in {models_dir}; missing: {', '.join(missing)}"
            )
        self.providers = execution_providers()
        self.ctx_id = 0 if self.providers[0] == "CUDAExecutionProvider" else -1
        self.app = (app_factory or _default_app)(Path(models_dir) / PACK, self.providers)
        self._prepared_size: int | None = None

    def _detect(self, bgr: np.ndarray, size: int) -> list:
        if self._prepared_size != size:
            self.app.prepare(ctx_id=self.ctx_id, det_size=(size, size))
            self._prepared_size = size
        return self.app.get(bgr)

    def analyze(self, image: np.ndarray) -> list[Face]:
        check_image(image)
        bgr = np.ascontiguousarray(image[:, :, ::-1])  # insightface expects OpenCV's BGR order
        for size in DET_SIZES:
            found = self._detect(bgr, size)
            if found:
                return sorted((to_face(f) for f in found), key=lambda face: face.area, reverse=True)
        return []
