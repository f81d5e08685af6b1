"""Max pooling with indices and max unpooling exported as float ONNX: onnxruntime
agrees with the simulator; the i64 indices do not make the graph "quantized"."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from n2d2c.backends.onnx import export_model, is_quantized
from n2d2c.frontend.ini import load_ini_network
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType, Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.runtime import simulate

from .helpers import run_onnx

INI = """\
[sp]
SizeX=9
SizeY=7
NbChannels=2

[pool1]
Input=sp
Type=Pool
PoolDims=3 3
Stride={stride}
Pooling=Max
NbOutputs=2

[unpool1]
Input=pool1
Type=Unpool
ArgMax=pool1
PoolDims=3 3
Stride={stride}
Pooling=Max
NbOutputs=2
"""


def round_trip(graph: Graph, feeds: dict) -> onnx.ModelProto:
    model = export_model(graph)
    want = simulate(graph, feeds)
    got = run_onnx(model, feeds)
    assert list(got) == list(want)
    for name, expected in want.items():
        assert got[name].dtype == expected.dtype, name
        np.testing.assert_allclose(got[name], expected, rtol=1e-6, atol=1e-6, err_msg=name)
    return model


def ties(*shape, seed=0):
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float32)


def test_ini_unpooling_round_trips(tmp_path):
    for stride, summed in ((3, False), (2, True)):
        path = tmp_path / f"net{stride}.ini"
        path.write_text(INI.format(stride=stride))
        graph = load_ini_network(path)
        assert graph.ops_of(O.MaxUnpool2d)[0].accumulate is summed
        assert not is_quantized(graph)
        model = round_trip(graph, {"sp": ties(1, 2, 7, 9, seed=stride)})
        kinds = [n.op_type for n in model.graph.node]
        assert "MaxPool" in kinds
        # Overlapping windows sum their shared switches: a scatter-add, not MaxUnpool.
        assert ("ScatterND" in kinds) is summed and ("MaxUnpool" in kinds) is not summed


def test_onnx_model_with_index_input_round_trips():
    """Indices fed as an int64 graph input, 1-D (reshaped around the 2-D ops)."""
    n = helper.make_node
    window = dict(kernel_shape=[2], strides=[2])
    graph = helper.make_graph(
        [n("MaxPool", ["x"], ["p", "i"], **window),
         n("MaxUnpool", ["p", "i"], ["y"], **window),
         n("MaxUnpool", ["p", "where"], ["z"], **window)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8]),
         helper.make_tensor_value_info("where", TensorProto.INT64, [2, 3, 4])],
        [helper.make_tensor_value_info(v, t, [None] * 3) for v, t in
         (("i", TensorProto.INT64), ("y", TensorProto.FLOAT), ("z", TensorProto.FLOAT))])
    graph = load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]))
    assert graph.inputs[1].type.dtype is DType.I64 and not is_quantized(graph)
    where = np.random.default_rng(0).permutation(48)[:24].reshape(2, 3, 4).astype(np.int64)
    model = round_trip(graph, {"x": ties(2, 3, 8), "where": where})
    assert model.graph.input[1].type.tensor_type.elem_type == TensorProto.INT64


def test_integer_activations_still_make_a_quantized_graph():
    g = Graph("q")
    x = g.add_input("x", TensorType((1, 1, 4, 4)))
    q = g.add(O.Quantize(scale=0.1), [x]).output
    d = g.add(O.Dequantize(scale=0.1), [q]).output
    pool = g.add(O.MaxPool2dWithIndices(kernel=(2, 2), strides=(2, 2)), [d])
    g.outputs = [g.add(O.MaxUnpool2d(kernel=(2, 2), strides=(2, 2)), list(pool.outputs)).output]
    assert is_quantized(g)
