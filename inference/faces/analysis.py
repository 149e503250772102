"""Face analysis results shared by every backend: `Face`, the errors a visitor reads, and the largest face.

Images are RGB uint8 arrays [H, W, 3]. When a photo holds several faces, the largest one is the sitter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

MIN_IMAGE_SIDE = 64  # below this no backend finds a face reliably

# Where the five keypoints sit in an aligned face crop (ArcFace's 112 x 112 template), as fractions:
# left eye, right eye, nose tip, left mouth corner, right mouth corner (left/right as seen in the photo).
KEYPOINT_TEMPLATE = (
    np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        dtype=np.float32,
    )
    / 112.0
)


@dataclass(frozen=True)
class Face:
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
    score: float  # detection confidence in [0, 1]
    keypoints: np.ndarray  # [5, 2] (x, y): eyes, nose, mouth corners
    landmarks: np.ndarray | None = None  # [106, 2] where the backend detects them
    embedding: np.ndarray | None = None  # [512] L2-normalised identity embedding
    age: int | None = None
    gender: str | None = None  # "female" or "male"

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)


class FaceError(ValueError):
    """A photo we cannot use. `message` is meant for the visitor; `code` is stable for the API."""

    code = "face_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoFaceFound(FaceError):
    code = "no_face"

    def __init__(self):
        super().__init__(
            "We could not find a face in this photo. Please use a clear, well-lit photo where your face "
            "looks towards the camera."
        )


class ImageTooSmall(FaceError):
    code = "image_too_small"

    def __init__(self, width: int, height: int, minimum: int = MIN_IMAGE_SIDE):
        super().__init__(
            f"This photo is too small ({width}x{height} pixels). Please use one at least {minimum} pixels "
            "on each side; a selfie straight from a phone is ideal."
        )


class FaceAnalyzer(Protocol):
    def analyze(self, image: np.ndarray) -> list[Face]:
        """Every face found, largest first. Raises ImageTooSmall; returns [] when there is none."""


def check_image(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image [H, W, 3], got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageTooSmall(width, height)


def largest_face(analyzer: FaceAnalyzer, image: np.ndarray) -> Face:
    """The sitter: the largest face in the photo. Raises NoFaceFound or ImageTooSmall."""
    faces = analyzer.analyze(image)
    if not faces:
        raise NoFaceFound()
    return max(faces, key=lambda face: face.area)


def keypoints_from_box(bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Five keypoints at the average face's proportions inside the box: an estimate, not a detection."""
    x0, y0, x1, y1 = bbox
    return KEYPOINT_TEMPLATE * np.array([x1 - x0, y1 - y0], dtype=np.float32) + np.array(
        [x0, y0], dtype=np.float32
    )


class CentredFace:
    """One face in the middle of every image, found instantly: for the benchmark and the worker's
    warm-up. Random or tiny weights paint no real faces; detailing's cost and its compiled shapes depend
    on the crop size and steps, not on where the face is, so a fixed box exercises it faithfully."""

    def analyze(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        box = (w * 0.3, h * 0.25, w * 0.7, h * 0.65)
        return [Face(bbox=box, score=1.0, keypoints=keypoints_from_box(box))]
