"""An INI network and the equivalent ONNX model, with the same weights, agree.

The INI network reads its parameters from an .npz (ONNX layouts) and, in a
second test, from a folder in N2D2's text export format written from the same
arrays.  Both graphs are simulated; the ONNX model also runs in onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.frontend.ini import load_ini_network
from n2d2c.frontend.onnx import load_onnx

from .network_helpers import simulate_or_none

INI = """
[sp]
SizeX=16
SizeY=12
NbChannels=3

[conv1]
Input=sp
Type=Conv
KernelDims=3 3
NbOutputs=8
Padding=1
ActivationFunction=Linear

[bn1]
Input=conv1
Type=BatchNorm
NbOutputs=[conv1]NbOutputs
ActivationFunction=Rectifier
ConfigSection=bn.config

[bn.config]
Epsilon=1e-3

[dw]
Input=bn1
Type=Conv
KernelWidth=3
KernelHeight=3
NbOutputs=8
Padding=1
Mapping.ChannelsPerGroup=1
ActivationFunction=Rectifier
ActivationFunction.Clipping=6.0

[pw]
Input=dw
Type=Conv
KernelSize=1
NbOutputs=8
ActivationFunction=Rectifier
ActivationFunction.LeakSlope=0.1

[sum]
Input=pw,bn1
Type=ElemWise
NbOutputs=8
Operation=Sum
ActivationFunction=Rectifier

; channel concatenation of two inputs
[cat_conv]
Input=sum,conv1
Type=Conv
KernelDims=3 3
Stride=2
NbOutputs=12
ActivationFunction=Tanh

[pool]
Input=cat_conv
Type=Pool
PoolDims=2 2
Stride=2
Pooling=Max
NbOutputs=12

[gap]
Input=pool
Type=Pool
PoolDims=[pool]_OutputsWidth [pool]_OutputsHeight
Pooling=Average
NbOutputs=[pool]NbOutputs

[fc]
Input=gap
Type=Fc
NbOutputs=$([pool]NbOutputs // 2 - 1)
ActivationFunction=Linear

[softmax]
Input=fc
Type=Softmax
NbOutputs=[fc]NbOutputs
WithLoss=1

[softmax.Target]

[up]
Input=pool
Type=Deconv
KernelDims=2 2
Stride=2
NbOutputs=4
ActivationFunction=Logistic
"""


def make_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "conv1.weights": r(8, 3, 3, 3), "conv1.biases": r(8),
        "bn1.scales": (1 + r(8, scale=0.1)), "bn1.biases": r(8),
        "bn1.means": r(8), "bn1.variances": (0.5 + rng.random(8)).astype(np.float32),
        "dw.weights": r(8, 1, 3, 3), "dw.biases": r(8),
        "pw.weights": r(8, 8, 1, 1), "pw.biases": r(8),
        "cat_conv.weights": r(12, 16, 3, 3, scale=0.1), "cat_conv.biases": r(12),
        "fc.weights": r(5, 12), "fc.biases": r(5),
        "up.weights": r(12, 4, 2, 2), "up.biases": r(4),
    }


def onnx_model(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    n = helper.make_node
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits += [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
              numpy_helper.from_array(np.array(6.0, np.float32), "six")]
    nodes = [
        n("Conv", ["input", "conv1.weights", "conv1.biases"], ["c1"], pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c1", "bn1.scales", "bn1.biases", "bn1.means",
                                 "bn1.variances"], ["b1"], epsilon=1e-3),
        n("Relu", ["b1"], ["r1"]),
        n("Conv", ["r1", "dw.weights", "dw.biases"], ["d"], group=8, pads=[1, 1, 1, 1]),
        n("Clip", ["d", "zero", "six"], ["d6"]),
        n("Conv", ["d6", "pw.weights", "pw.biases"], ["p"]),
        n("LeakyRelu", ["p"], ["pl"], alpha=0.1),
        n("Add", ["pl", "r1"], ["s"]),
        n("Relu", ["s"], ["sr"]),
        n("Concat", ["sr", "c1"], ["cat"], axis=1),
        n("Conv", ["cat", "cat_conv.weights", "cat_conv.biases"], ["cc"], strides=[2, 2]),
        n("Tanh", ["cc"], ["t"]),
        n("MaxPool", ["t"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
        n("GlobalAveragePool", ["mp"], ["g"]),
        n("Flatten", ["g"], ["f"]),
        n("Gemm", ["f", "fc.weights", "fc.biases"], ["logits"], transB=1),
        n("Softmax", ["logits"], ["softmax"], axis=1),
        n("ConvTranspose", ["mp", "up.weights", "up.biases"], ["u"], strides=[2, 2]),
        n("Sigmoid", ["u"], ["up"]),
    ]
    graph = helper.make_graph(
        nodes, "equivalent",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 12, 16])],
        [helper.make_tensor_value_info("softmax", TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info("up", TensorProto.FLOAT, [1, 4, 4, 6])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def write_n2d2_text(folder: Path, w: dict[str, np.ndarray]) -> None:
    """The same parameters in N2D2's exportFreeParameters format."""
    folder.mkdir()

    def save(name: str, rows) -> None:
        (folder / f"{name}.syntxt").write_text(
            "".join(" ".join(f"{v:.9g}" for v in row) + " \n" for row in rows))

    for layer in ("conv1", "pw", "cat_conv"):       # OCHW: per output, every channel
        k = w[f"{layer}.weights"]
        save(f"{layer}_weights", [k[o].ravel() for o in range(k.shape[0])])
    k = w["dw.weights"]                              # depthwise: only the connected channel
    save("dw_weights", [k[o].ravel() for o in range(8)])
    k = w["up.weights"]                              # Deconv: per output, per channel
    save("up_weights", [k[:, o].ravel() for o in range(4)])
    save("fc_weights", list(w["fc.weights"]))        # OC
    for layer in ("conv1", "dw", "pw", "cat_conv", "fc", "up"):
        save(f"{layer}_biases", [[v] for v in w[f"{layer}.biases"]])
    for kind in ("scales", "biases", "means", "variances"):
        save(f"bn1_{kind}", [[v] for v in w[f"bn1.{kind}"]])


@pytest.fixture
def setup(tmp_path: Path, write):
    weights = make_weights()
    np.savez(tmp_path / "weights.npz", **weights)
    ini = write("net.ini", INI)
    model = onnx_model(weights)
    onnx.save(model, tmp_path / "net.onnx")
    x = np.random.default_rng(1).standard_normal((1, 3, 12, 16)).astype(np.float32)
    return tmp_path, ini, model, weights, x


def _onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {"input": x})))


def test_ini_and_onnx_give_the_same_outputs(setup) -> None:
    tmp_path, ini, model, weights, x = setup
    graph = load_ini_network(ini, params="weights.npz", env={})
    assert [v.name for v in graph.outputs] == ["softmax", "up"]
    assert graph.outputs[0].shape == (1, 5) and graph.outputs[1].shape == (1, 4, 4, 6)
    assert graph.metadata["targets"]["softmax"][0]["section"] == "softmax.Target"
    reference = _onnxruntime(model, x)
    onnx_graph = load_onnx(tmp_path / "net.onnx")
    ini_out = simulate_or_none(graph, {"sp": x})
    if ini_out is None:
        pytest.skip("n2d2c.runtime.simulate is not importable yet")
    onnx_out = simulate_or_none(onnx_graph, {"input": x})
    for name in ("softmax", "up"):
        np.testing.assert_allclose(ini_out[name], reference[name], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ini_out[name], onnx_out[name], rtol=1e-4, atol=1e-5)


def test_n2d2_text_parameters_equal_the_npz(setup) -> None:
    tmp_path, ini, model, weights, x = setup
    write_n2d2_text(tmp_path / "params", weights)
    from_text = load_ini_network(ini, params=tmp_path / "params", env={})
    from_npz = load_ini_network(ini, params=tmp_path / "weights.npz", env={})
    assert from_text.metadata["parameters"].startswith("parameter folder")
    for a, b in zip(from_text.ops, from_npz.ops):
        assert type(a) is type(b) and a.name == b.name
        if from_text.constant_value(a.output) is not None:
            np.testing.assert_allclose(from_text.constant_value(a.output),
                                       from_npz.constant_value(b.output), rtol=1e-6,
                                       err_msg=a.name)
    out = simulate_or_none(from_text, {"sp": x})
    if out is not None:
        reference = _onnxruntime(model, x)
        np.testing.assert_allclose(out["softmax"], reference["softmax"], rtol=1e-4, atol=1e-5)
