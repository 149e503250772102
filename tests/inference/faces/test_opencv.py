from pathlib import Path

import insightface
import numpy as np
import pytest
import skimage.data
from PIL import Image

from inference.faces import ImageTooSmall, NoFaceFound, OpenCVFaceAnalyzer, largest_face

GROUP_PHOTO = Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"


@pytest.fixture(scope="module")
def analyzer():
    return OpenCVFaceAnalyzer()


def test_finds_the_face_in_the_astronaut_photo(analyzer):
    face = largest_face(analyzer, skimage.data.astronaut())
    x0, y0, x1, y1 = face.bbox
    # Eileen Collins' face sits in the upper middle of the 512 x 512 portrait.
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 190
    assert 0.5 < face.score <= 1.0
    assert face.keypoints.shape == (5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = face.keypoints
    assert left_eye[0] < nose[0] < right_eye[0] and left_eye[1] < nose[1] < mouth_left[1]
    assert x0 <= face.keypoints[:, 0].min() and face.keypoints[:, 0].max() <= x1
    assert face.landmarks is None and face.embedding is None  # the offline backend only estimates


def test_the_largest_of_several_faces_is_the_sitter(analyzer):
    group = np.asarray(Image.open(GROUP_PHOTO).convert("RGB"))
    faces = analyzer.analyze(group)
    assert len(faces) >= 3
    assert largest_face(analyzer, group).area == max(f.area for f in faces) == faces[0].area


def test_a_photo_without_a_face_says_so_plainly(analyzer):
    with pytest.raises(NoFaceFound) as error:
        largest_face(analyzer, skimage.data.coffee())
    assert error.value.code == "no_face" and "could not find a face" in error.value.message


def test_a_tiny_photo_is_refused_with_its_size(analyzer):
    with pytest.raises(ImageTooSmall) as error:
        analyzer.analyze(np.zeros((40, 300, 3), dtype=np.uint8))
    assert "300x40" in error.value.message and error.value.code == "image_too_small"


def test_non_rgb_input_is_a_programming_error(analyzer):
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.analyze(np.zeros((128, 128), dtype=np.uint8))


def test_the_tiny_preset_uses_opencv_and_a_models_folder_insightface(tmp_path):
    from inference.faces import face_analyzer
    from inference.faces.insightface_backend import FaceModelsMissing

    assert isinstance(face_analyzer("tiny"), OpenCVFaceAnalyzer)
    with pytest.raises(FaceModelsMissing, match="det_10g.onnx"):
        face_analyzer(str(tmp_path))
