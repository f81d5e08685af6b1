"""``Type=ONNX`` sections: an ONNX model embedded in the INI network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import InputError, ShapeError, UnsupportedError

from .helpers import error_of
from .network_helpers import simulate_or_none


def small_model(size: int = 8) -> onnx.ModelProto:
    rng = np.random.default_rng(5)
    w = {"cw": rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.2,
         "cb": rng.standard_normal(8).astype(np.float32) * 0.1,
         "gw": rng.standard_normal((10, 8)).astype(np.float32),
         "gb": rng.standard_normal(10).astype(np.float32)}
    n = helper.make_node
    nodes = [n("Conv", ["data", "cw", "cb"], ["conv_out"], pads=[1, 1, 1, 1], name="conv"),
             n("Relu", ["conv_out"], ["relu_out"]),
             n("GlobalAveragePool", ["relu_out"], ["gap_out"]),
             n("Flatten", ["gap_out"], ["flat"]),
             n("Gemm", ["flat", "gw", "gb"], ["logits"], transB=1),
             n("Softmax", ["logits"], ["prob"], axis=1)]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("data", TensorProto.FLOAT,
                                                       [1, 3, size, size])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in w.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


NET = """
[sp]
SizeX=8
SizeY=8
NbChannels=3

[sp.Transformation-1]
Type=RangeAffineTransformation
FirstOperator=Minus
FirstValue=127.5
SecondOperator=Divides
SecondValue=127.5

[onnx]
Input=sp
Type=ONNX
File=models/small.onnx
Ignore=prob

; reads a tensor inside the ONNX model, scoped by the section name
[head]
Input=onnx,relu_out
Type=Conv
KernelDims=1 1
NbOutputs=2
ActivationFunction=Rectifier

[logits.Target]
TopN=3
"""


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    onnx.save(small_model(), tmp_path / "models" / "small.onnx")
    return tmp_path


def test_embedded_onnx_model(model_dir: Path, lower) -> None:
    graph = lower(NET)
    assert [v.name for v in graph.outputs] == ["logits", "head"]
    assert graph.outputs[0].shape == (1, 10) and graph.outputs[1].shape == (1, 2, 8, 8)
    target, = graph.metadata["targets"]["logits"]
    assert target["top_n"] == 3 and target["cell"] == "logits"
    info = graph.metadata["layers"]["onnx"]
    assert info["ignore"] == ["prob"] and info["file"].endswith("small.onnx")
    assert graph.metadata["layers"]["head"]["inputs"] == ["relu_out"]
    assert graph.ops_of(type(graph.find_op("head/conv")))  # the INI conv is there
    # pre-processing ops feed the embedded model
    assert [op.OP_NAME for op in graph.ops[:4]] == ["constant", "sub", "constant", "div"]

    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 8, 8)).astype(np.float32)
    out = simulate_or_none(graph, {"sp": x})
    if out is None:
        pytest.skip("n2d2c.runtime.simulate is not importable yet")
    ort = pytest.importorskip("onnxruntime")
    model = small_model()
    model.graph.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"data": (x - 127.5) / 127.5})[0]
    np.testing.assert_allclose(out["logits"], logits, rtol=1e-4, atol=1e-5)


def test_missing_onnx_file(tmp_path: Path, lower) -> None:
    err = error_of(lower, NET.replace("models/small.onnx", "models/absent.onnx"))
    assert isinstance(err, InputError)
    text = str(err)
    assert "[onnx]File 'models/absent.onnx' not found" in text and "does not exist" in text
    assert text.startswith(f"{tmp_path / 'net.ini'}:16:6: ")


def test_onnx_file_outside_the_allowed_folders(tmp_path: Path, lower) -> None:
    err = error_of(lower, NET.replace("models/small.onnx", "../elsewhere.onnx"))
    assert isinstance(err, InputError) and "refusing" in str(err) and "[onnx]File" in str(err)


def test_unknown_ignored_node(model_dir: Path, lower) -> None:
    err = error_of(lower, NET.replace("Ignore=prob", "Ignore=prob nope"))
    assert isinstance(err, InputError)
    assert "[onnx]Ignore" in str(err) and "'nope'" in str(err)


def test_input_size_must_match_unless_ignored(model_dir: Path, lower) -> None:
    onnx.save(small_model(size=16), model_dir / "models" / "small.onnx")
    err = error_of(lower, NET)
    assert isinstance(err, ShapeError) and "[onnx] embedded ONNX model" in str(err)
    graph = lower(NET.replace("Ignore=prob", "Ignore=prob\nIgnoreInputSize=1"))
    assert graph.outputs[1].shape == (1, 2, 8, 8)


def test_transpose_option_is_refused(model_dir: Path, lower) -> None:
    err = error_of(lower, NET.replace("Ignore=prob", "Transpose=1"))
    assert isinstance(err, UnsupportedError) and "[onnx]Transpose" in str(err)


def test_target_on_unknown_onnx_tensor(model_dir: Path, lower) -> None:
    err = error_of(lower, NET + "\n[nothing_here.Target]\n")
    assert isinstance(err, InputError)
    assert "target section [nothing_here.Target] reads cell 'nothing_here'" in str(err)
