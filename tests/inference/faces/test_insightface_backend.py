"""The insightface adapter. The buffalo_l pack cannot be downloaded here, so the insightface app is a
stand-in that records what it is asked and answers with insightface-shaped results."""

from types import SimpleNamespace

import numpy as np
import pytest
import skimage.data

from inference.faces import ImageTooSmall
from inference.faces.insightface_backend import (
    DET_SIZES,
    PACK,
    PACK_FILES,
    FaceModelsMissing,
    InsightFaceAnalyzer,
    execution_providers,
)
from tests.inference.faces.buffalo_fakes import write_pack


def insightface_face(x0, y0, x1, y1, *, gender=0, age=34):
    box = np.array([x0, y0, x1, y1], dtype=np.float32)
    kps = np.array(
        [
            [x0 + 10, y0 + 10],
            [x1 - 10, y0 + 10],
            [(x0 + x1) / 2, (y0 + y1) / 2],
            [x0 + 12, y1 - 10],
            [x1 - 12, y1 - 10],
        ],
        dtype=np.float32,
    )
    return SimpleNamespace(
        bbox=box,
        det_score=np.float32(0.93),
        kps=kps,
        landmark_2d_106=np.tile(kps.mean(0), (106, 1)),
        embedding=np.full(512, 2.0, dtype=np.float32),
        gender=gender,
        age=age,
    )


class StandInApp:
    """Finds faces only when prepared at `finds_at` px; remembers the images and sizes it saw."""

    def __init__(self, finds_at: int, faces):
        self.finds_at, self.faces, self.sizes, self.images = finds_at, faces, [], []

    def prepare(self, ctx_id, det_size):
        self.ctx_id, self.size = ctx_id, det_size[0]

    def get(self, image):
        self.sizes.append(self.size)
        self.images.append(image)
        return list(self.faces) if self.size == self.finds_at else []


@pytest.fixture
def pack(tmp_path):
    folder = tmp_path / PACK
    folder.mkdir(parents=True)
    for name in PACK_FILES.values():
        (folder / name).write_bytes(b"onnx")
    return tmp_path


def analyzer_with(pack, app):
    return InsightFaceAnalyzer(pack, app_factory=lambda path, providers: app)


def test_missing_pack_files_are_named(tmp_path):
    (tmp_path / PACK).mkdir(parents=True)
    (tmp_path / PACK / "det_10g.onnx").write_bytes(b"x")
    with pytest.raises(FaceModelsMissing) as error:
        InsightFaceAnalyzer(tmp_path)
    assert "w600k_r50.onnx" in str(error.value) and "2d106det.onnx" in str(error.value)
    assert "det_10g.onnx" not in str(error.value)


def test_results_become_faces_largest_first_with_identity(pack):
    app = StandInApp(640, [insightface_face(10, 10, 60, 60, gender=1), insightface_face(100, 100, 300, 320)])
    faces = analyzer_with(pack, app).analyze(skimage.data.astronaut())
    assert [f.bbox for f in faces] == [(100.0, 100.0, 300.0, 320.0), (10.0, 10.0, 60.0, 60.0)]
    assert faces[0].landmarks.shape == (106, 2) and faces[0].keypoints.shape == (5, 2)
    assert faces[0].embedding.shape == (512,) and faces[0].embedding[0] == 2.0  # raw, as PhotoMaker wants
    assert (faces[0].gender, faces[1].gender, faces[0].age) == ("female", "male", 34)
    assert faces[0].score == pytest.approx(0.93)


def test_detection_steps_down_from_640_until_a_face_is_found(pack):
    app = StandInApp(448, [insightface_face(0, 0, 80, 80)])
    faces = analyzer_with(pack, app).analyze(skimage.data.astronaut())
    assert len(faces) == 1 and app.sizes == [640, 576, 512, 448]


def test_no_face_at_any_size_is_an_empty_answer(pack):
    app = StandInApp(0, [])
    assert analyzer_with(pack, app).analyze(skimage.data.astronaut()) == []
    assert app.sizes == list(DET_SIZES) and app.sizes[-1] == 256


def test_the_image_is_handed_over_in_bgr_order(pack):
    app = StandInApp(640, [insightface_face(0, 0, 80, 80)])
    rgb = skimage.data.astronaut()
    analyzer_with(pack, app).analyze(rgb)
    assert np.array_equal(app.images[0], rgb[:, :, ::-1])


def test_tiny_images_are_refused_before_detection(pack):
    app = StandInApp(640, [])
    with pytest.raises(ImageTooSmall):
        analyzer_with(pack, app).analyze(np.zeros((32, 32, 3), dtype=np.uint8))
    assert app.sizes == []


def test_cuda_first_then_cpu():
    providers = execution_providers()
    assert providers[-1] == "CPUExecutionProvider"
    assert providers[0] in ("CUDAExecutionProvider", "CPUExecutionProvider")


def test_the_real_insightface_code_runs_our_adapter_on_onnx_stand_ins(tmp_path):
    """Faked at the onnxruntime boundary: real FaceAnalysis, real sessions, stand-in ONNX graphs."""
    write_pack(tmp_path / PACK)
    analyzer = InsightFaceAnalyzer(tmp_path)
    assert sorted(analyzer.app.models) == sorted(PACK_FILES)
    red = np.zeros((480, 640, 3), np.uint8)
    red[200:280, 300:380] = (255, 0, 0)  # RGB red: the stand-in detector's trigger
    faces = analyzer.analyze(red)
    assert faces, "the red square was not found: was the image passed in RGB instead of BGR?"
    face = faces[0]
    x0, y0, x1, y1 = face.bbox
    assert 250 < (x0 + x1) / 2 < 430 and 150 < (y0 + y1) / 2 < 330
    assert face.keypoints.shape == (5, 2) and face.landmarks.shape == (106, 2)
    assert face.embedding.shape == (512,) and face.gender in ("female", "male") and 0 <= face.age <= 100
    blue = np.zeros((480, 640, 3), np.uint8)
    blue[200:280, 300:380] = (0, 0, 255)
    assert analyzer.analyze(blue) == []  # tried 640 down to 256, nothing
