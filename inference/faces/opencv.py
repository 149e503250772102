"""The offline face finder: OpenCV's Haar cascade (no downloads, no identity)."""

from __future__ import annotations

import cv2
import numpy as np

from inference.faces.analysis import Face, check_image, keypoints_from_box


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
