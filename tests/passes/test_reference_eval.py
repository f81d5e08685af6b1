"""The test evaluator's window ops agree with onnxruntime (so that equivalence
tests of fuse-padding and friends test the passes, not the evaluator)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from n2d2c.ir import Graph, TensorType  # noqa: E402
from n2d2c.ir import ops as O  # noqa: E402
from passes_refeval import run_graph  # noqa: E402


def _onnx_run(node_type, x, weights, attrs, out_shape):
    names = ["x"] + [f"p{i}" for i in range(len(weights))]
    node = helper.make_node(node_type, names, ["y"], **attrs)
    inits = [helper.make_tensor(n, TensorProto.FLOAT, w.shape, w.ravel()) for n, w in
             zip(names[1:], weights)]
    model = helper.make_model(
        helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, x.shape)],
                          [helper.make_tensor_value_info("y", 1, out_shape)], inits),
        opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def _ours(op, x, weights):
    g = Graph()
    xv = g.add_input("x", TensorType(x.shape))
    consts = [g.constant(w, name=f"p{i}") for i, w in enumerate(weights)]
    g.add(op, [xv, *consts], ["y"])
    g.outputs = [op.output]
    return run_graph(g, {"x": x})["y"], op.output.type.shape


CASES = [
    ("Conv", O.Conv2d(strides=(2, 1), pads=(1, 0, 2, 1), dilations=(1, 2), group=2),
     (1, 4, 9, 8), [(6, 2, 3, 2), (6,)],
     dict(strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2], group=2)),
    ("Conv", O.Conv2d(group=4), (2, 4, 5, 5), [(8, 1, 3, 3)], dict(group=4)),
    ("ConvTranspose", O.ConvTranspose2d(strides=(2, 2), pads=(1, 0, 0, 1), output_padding=(1, 0),
                                        group=2), (1, 4, 4, 3), [(4, 3, 3, 2), (6,)],
     dict(strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 0], group=2)),
    ("AveragePool", O.AvgPool2d(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)),
     (1, 2, 7, 6), [], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("AveragePool", O.AvgPool2d(kernel=(3, 2), pads=(2, 1, 1, 0), count_include_pad=True),
     (1, 2, 5, 5), [], dict(kernel_shape=[3, 2], pads=[2, 1, 1, 0], count_include_pad=1)),
    ("MaxPool", O.MaxPool2d(kernel=(2, 3), strides=(1, 2), pads=(1, 1, 0, 2)),
     (2, 3, 6, 7), [], dict(kernel_shape=[2, 3], strides=[1, 2], pads=[1, 1, 0, 2])),
]


@pytest.mark.parametrize("kind,op,xshape,wshapes,attrs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_window_ops_match_onnxruntime(kind, op, xshape, wshapes, attrs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xshape).astype(np.float32)
    weights = [rng.standard_normal(s).astype(np.float32) for s in wshapes]
    ours, shape = _ours(op, x, weights)
    theirs = _onnx_run(kind, x, weights, attrs, shape)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
