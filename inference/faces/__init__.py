"""Face analysis: where the face is, its keypoints, and (with insightface) who it is.

Two backends share one result type, `Face`:
    InsightFaceAnalyzer  production; buffalo_l from $NARCIS_MODELS_DIR/insightface (insightface_backend.py)
    OpenCVFaceAnalyzer   offline default (opencv.py); Haar cascade boxes, keypoints estimated, no identity

Images are RGB uint8 arrays [H, W, 3]. When a photo holds several faces, the largest one is the sitter.
"""

from __future__ import annotations

from inference.faces.analysis import (
    Face,
    FaceAnalyzer,
    FaceError,
    ImageTooSmall,
    NoFaceFound,
    check_image,
    keypoints_from_box,
    largest_face,
)
from inference.faces.opencv import OpenCVFaceAnalyzer

__all__ = [
    "Face",
    "FaceAnalyzer",
    "FaceError",
    "ImageTooSmall",
    "NoFaceFound",
    "OpenCVFaceAnalyzer",
    "check_image",
    "face_analyzer",
    "keypoints_from_box",
    "largest_face",
]


def face_analyzer(models_dir: str | None) -> FaceAnalyzer:
    """insightface's buffalo_l for a real models folder; the offline OpenCV finder for the tiny preset."""
    if models_dir is None or str(models_dir) == "tiny":
        return OpenCVFaceAnalyzer()
    from inference.faces.insightface_backend import (
        InsightFaceAnalyzer,  # imports insightface only when needed
    )

    return InsightFaceAnalyzer(models_dir)
