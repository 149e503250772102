"""Face analysis: where the face is, its keypoints, and (with insightface) who it is.

Two backends share one result type, `Face`:
    InsightFaceAnalyzer  production; buffalo_l from $NARCIS_MODELS_DIR/insightface (see faces_insightface.py)
    OpenCVFaceAnalyzer   offline default; Haar cascade boxes, keypoints estimated, no identity

Images are RGB uint8 arrays [H, W, 3]. When a photo holds several faces, the largest one is the sitter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
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


class OpenCVFaceAnalyzer:
    """Offline face finder: OpenCV's Haar cascade for frontal faces (ships in opencv-python-headless).

    Only the boxes are detected. The five keypoints are ESTIMATED from each box by the proportions of an
    average frontal face, so they are approximate for turned or tilted heads. It gives no 106 landmarks,
    no identity embedding, and no age or gender: use InsightFaceAnalyzer for those.
    """

    def __init__(self, *, min_face: int = 32, scale_factor: float = 1.1, min_neighbors: int = 5):
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise FileNotFoundError(
                f"OpenCV's face cascade is missing: {path} (is opencv-python-headless < 5 installed?)"
            )
        self.min_face, self.scale_factor, self.min_neighbors = min_face, scale_factor, min_neighbors

    def analyze(self, image: np.ndarray) -> list[Face]:
        check_image(image)
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        boxes, _, weights = self.cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face, self.min_face),
            outputRejectLevels=True,
        )
        faces = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            bbox = (float(x), float(y), float(x + w), float(y + h))
            score = float(1.0 / (1.0 + np.exp(-weight)))  # the cascade's stage weight, squashed to [0, 1]
            faces.append(Face(bbox=bbox, score=score, keypoints=keypoints_from_box(bbox)))
        return sorted(faces, key=lambda face: face.area, reverse=True)


def face_analyzer(models_dir: str | None) -> FaceAnalyzer:
    """insightface's buffalo_l for a real models folder; the offline OpenCV finder for the tiny preset."""
    if models_dir is None or str(models_dir) == "tiny":
        return OpenCVFaceAnalyzer()
    from inference.faces_insightface import InsightFaceAnalyzer  # imports insightface only when needed

    return InsightFaceAnalyzer(models_dir)
