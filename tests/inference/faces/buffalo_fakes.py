"""Tiny ONNX stand-ins for insightface's buffalo_l pack, with the real models' inputs and outputs.

The real pack cannot be downloaded here. These graphs have the same signatures, so insightface's own
code loads them into real onnxruntime sessions, routes them to the same task classes and decodes
their outputs exactly as it would the real ones; only the numbers are ours:
  det_10g.onnx      SCRFD layout: scores/boxes/keypoints at strides 8, 16, 32, two anchors per cell;
                    it "sees a face" wherever the first channel of its RGB input is bright (so it
                    sees a red square only if the image reached insightface in BGR order)
  w600k_r50.onnx    112 x 112 -> 512 (a fixed projection of the mean colour)
  2d106det.onnx     192 x 192 -> 212 (106 points)
  genderage.onnx    96 x 96 -> 3 (female score, male score, age / 100)
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]
STRIDES = (8, 16, 32)
BOX = [1.0, 1.0, 1.0, 1.0]  # distances to the box sides, in strides
KEYPOINTS = [-0.5, -0.4, 0.5, -0.4, 0.0, 0.0, -0.4, 0.5, 0.4, 0.5]  # offsets, in strides


def _const(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def _shape(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _per_anchor(nodes, source: str, name: str, values: list[float]) -> None:
    """[1, 1, h, w] -> [h * w * 2, len(values)]: the same values at every cell and anchor."""
    width = len(values)
    nodes += [
        helper.make_node("Mul", [source, "zero"], [f"{name}_zero"]),
        helper.make_node("Concat", [f"{name}_zero"] * (2 * width), [f"{name}_wide"], axis=1),
        helper.make_node("Add", [f"{name}_wide", f"{name}_values"], [f"{name}_filled"]),
        helper.make_node("Transpose", [f"{name}_filled"], [f"{name}_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", [f"{name}_nhwc", f"{name}_shape"], [name]),
    ]


def detector() -> onnx.ModelProto:
    nodes, inits, outputs = [], [_const("zero", 0.0), _const("gain", 12.0), _const("bias", -6.0)], {}
    for s in STRIDES:
        nodes += [
            helper.make_node("AveragePool", ["input.1"], [f"pool{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Slice", [f"pool{s}", "first", "second", "channels"], [f"gray{s}"]),
            helper.make_node("Mul", [f"gray{s}", "gain"], [f"scaled{s}"]),
            helper.make_node("Add", [f"scaled{s}", "bias"], [f"logit{s}"]),
            helper.make_node("Sigmoid", [f"logit{s}"], [f"prob{s}"]),
            helper.make_node("Concat", [f"prob{s}", f"prob{s}"], [f"anchors{s}"], axis=1),
            helper.make_node("Transpose", [f"anchors{s}"], [f"anchors_nhwc{s}"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"anchors_nhwc{s}", "column"], [f"score_{s}"]),
        ]
        for kind, values in (("bbox", BOX), ("kps", KEYPOINTS)):
            name = f"{kind}_{s}"
            inits += [
                _const(f"{name}_values", np.tile(values, 2).reshape(1, -1, 1, 1)),
                _shape(f"{name}_shape", [-1, len(values)]),
            ]
            _per_anchor(nodes, f"gray{s}", name, values)
        outputs |= {f"score_{s}": 1, f"bbox_{s}": 4, f"kps_{s}": 10}
    inits += [_shape("column", [-1, 1]), _shape("first", [0]), _shape("second", [1]), _shape("channels", [1])]
    order = [f"{kind}_{s}" for kind in ("score", "bbox", "kps") for s in STRIDES]
    graph = helper.make_graph(
        nodes,
        "scrfd-stand-in",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["anchors", outputs[name]])
            for name in order
        ],
        inits,
    )
    return helper.make_model(graph, opset_imports=OPSET)


def head(side: int, width: int, seed: int, name: str) -> onnx.ModelProto:
    """[1, 3, side, side] -> [1, width]: mean colour through a fixed projection."""
    weights = np.random.default_rng(seed).normal(size=(3, width)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("MatMul", ["flat", "weights"], ["projected"]),
            helper.make_node("Sigmoid", ["projected"], ["fc1"]),
        ],
        name,
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, width])],
        [_const("weights", weights)],
    )
    return helper.make_model(graph, opset_imports=OPSET)


def write_pack(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    models = {
        "det_10g.onnx": detector(),
        "w600k_r50.onnx": head(112, 512, 1, "arcface-stand-in"),
        "2d106det.onnx": head(192, 212, 2, "landmark-stand-in"),
        "genderage.onnx": head(96, 3, 3, "genderage-stand-in"),
    }
    for name, model in models.items():
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, folder / name)
    return folder
