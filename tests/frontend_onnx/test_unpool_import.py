"""MaxPool with its Indices output and MaxUnpool, imported and run against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import ShapeError, UnsupportedError
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType
from n2d2c.ir import ops as O

from .harness import check_outputs, roundtrip_text, run_ort

F, I = TensorProto.FLOAT, TensorProto.INT64


def model(nodes, inputs, outputs, inits=(), opset=22) -> onnx.ModelProto:
    """``outputs``: (name, type) of rank 4, or (name, type, rank)."""
    ranks = [o[2] if len(o) > 2 else 4 for o in outputs]
    graph = helper.make_graph(nodes, "unpool",
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(o[0], o[1], [None] * r)
                               for o, r in zip(outputs, ranks)],
                              [numpy_helper.from_array(a, n) for n, a in inits])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def ties(*shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-3, 4, shape).astype(np.float32)


def check(m, feeds):
    graph = load_onnx(m)
    problem = check_outputs(graph, feeds, run_ort(m, feeds), rtol=0, atol=0)
    assert problem is None, problem
    roundtrip_text(graph)
    return graph


@pytest.mark.parametrize("shape,window", [
    ((2, 3, 8, 8), dict(kernel_shape=[2, 2], strides=[2, 2])),
    ((1, 2, 9, 7), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])),
    ((1, 2, 6, 6), dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])),
])
def test_max_pool_indices_then_unpool(shape, window):
    m = model([helper.make_node("MaxPool", ["x"], ["p", "i"], **window),
               helper.make_node("MaxUnpool", ["p", "i"], ["y"], **window)],
              [("x", F, shape)], [("p", F), ("i", I), ("y", F)])
    graph = check(m, {"x": ties(*shape)})
    assert [type(op) for op in graph.ops] == [O.MaxPool2dWithIndices, O.MaxUnpool2d]
    assert graph.outputs[1].type.dtype is DType.I64


def test_unpool_to_the_pooled_input_shape():
    """output_shape (constant) restores the 9x7 input that the pool floored to 4x3."""
    window = dict(kernel_shape=[2, 2], strides=[2, 2])
    m = model([helper.make_node("MaxPool", ["x"], ["p", "i"], **window),
               helper.make_node("MaxUnpool", ["p", "i", "shape"], ["y"], **window)],
              [("x", F, [1, 2, 9, 7])], [("y", F)],
              [("shape", np.array([1, 2, 9, 7], np.int64))])
    graph = check(m, {"x": ties(1, 2, 9, 7, seed=1)})
    assert graph.find_op("MaxUnpool_0").output_shape == (1, 2, 9, 7)


def test_storage_order_column_major():
    m = model([helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[3, 2],
                                strides=[2, 1], storage_order=1)],
              [("x", F, [2, 2, 7, 5])], [("p", F), ("i", I)])
    graph = check(m, {"x": ties(2, 2, 7, 5, seed=2)})
    assert graph.ops[0].storage_order == 1


def test_one_dimensional_pool_and_unpool():
    window = dict(kernel_shape=[3], strides=[2], pads=[1, 1])
    m = model([helper.make_node("MaxPool", ["x"], ["p", "i"], **window),
               helper.make_node("MaxUnpool", ["p", "i"], ["y"], **window)],
              [("x", F, [2, 3, 11])], [("i", I, 3), ("y", F, 3)])
    check(m, {"x": ties(2, 3, 11, seed=3)})


def test_indices_from_a_graph_input_and_from_a_constant():
    x = np.arange(1, 9, dtype=np.float32).reshape(1, 2, 2, 2)
    where = np.array([0, 3, 9, 14, 16, 21, 27, 31], np.int64).reshape(1, 2, 2, 2)
    unpool = dict(kernel_shape=[2, 2], strides=[2, 2])
    fed = model([helper.make_node("MaxUnpool", ["x", "where"], ["y"], **unpool)],
                [("x", F, [1, 2, 2, 2]), ("where", I, [1, 2, 2, 2])], [("y", F)])
    graph = check(fed, {"x": x, "where": where})
    assert graph.inputs[1].type.dtype is DType.I64
    const = model([helper.make_node("MaxUnpool", ["x", "where"], ["y"], **unpool)],
                  [("x", F, [1, 2, 2, 2])], [("y", F)], [("where", where)])
    check(const, {"x": x})


def test_output_shape_must_be_known_at_compile_time():
    shape_of = [helper.make_node("Shape", ["z"], ["s"]),
                helper.make_node("MaxUnpool", ["x", "where", "s"], ["y"], kernel_shape=[2, 2],
                                 strides=[2, 2])]
    inputs = [("x", F, [1, 1, 2, 2]), ("where", I, [1, 1, 2, 2]), ("z", F, [1, 1, 5, 5])]
    graph = load_onnx(model(shape_of, inputs, [("y", F)]))  # the Shape of a static input folds
    assert graph.find_op("MaxUnpool_0").output_shape == (1, 1, 5, 5)
    # The only run-time int64 tensors are pooling indices: use some as the shape.
    from_indices = [helper.make_node("MaxPool", ["z8"], ["p", "i"], kernel_shape=[1, 2],
                                     strides=[1, 2]),
                    helper.make_node("Reshape", ["i", "four"], ["s"]), shape_of[1]]
    m = model(from_indices, inputs[:2] + [("z8", F, [1, 1, 1, 8])], [("y", F), ("p", F)],
              [("four", np.array([4], np.int64))])
    with pytest.raises(UnsupportedError) as info:
        load_onnx(m)
    assert "input 's' (output_shape) must be known at compile time, but it is computed at " \
           "run time" in str(info.value)


def test_integer_inputs_reach_only_ops_that_take_them():
    m = model([helper.make_node("MaxUnpool", ["x", "where"], ["y"], kernel_shape=[2, 2]),
               helper.make_node("Identity", ["where"], ["w2"])],
              [("x", F, [1, 1, 2, 2]), ("where", I, [1, 1, 2, 2])], [("y", F), ("w2", I)])
    assert load_onnx(m).outputs[1].type.dtype is DType.I64  # Identity moves any type
    m = model([helper.make_node("MaxUnpool", ["x", "where"], ["y"], kernel_shape=[2, 2]),
               helper.make_node("Relu", ["where"], ["w2"])],
              [("x", F, [1, 1, 2, 2]), ("where", I, [1, 1, 2, 2])], [("y", F), ("w2", I)])
    with pytest.raises(UnsupportedError, match="input 'where' has element type int64 at run "
                                               "time; n2d2c computes Relu on float32"):
        load_onnx(m)


def test_constant_indices_must_have_the_data_shape():
    m = model([helper.make_node("MaxUnpool", ["x", "where"], ["y"], kernel_shape=[2, 2])],
              [("x", F, [1, 2, 2, 2])], [("y", F)],
              [("where", np.arange(8, dtype=np.int64).reshape(1, 2, 4))])
    with pytest.raises(ShapeError) as info:
        load_onnx(m)
    assert "indices have shape [1, 2, 4], but the data has shape [1, 2, 2, 2]" in str(info.value)
