"""Importing Gather, GatherElements, Expand, Tile, DepthToSpace, SpaceToDepth and Trilu:
the IR they become on run-time tensors, folding when all inputs are constant, clear
errors, and the ONNX export of the imported graph run by onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.backends.onnx import export_model
from n2d2c.errors import ShapeError, UnsupportedError
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType, ops
from n2d2c.runtime import simulate

from .harness import run_ort
from .single_node import C, X, rand, single_node_model

I64, I32 = np.int64, np.int32


def _import(op, inputs, opset=17, **attrs):
    model, feeds = single_node_model(op, opset, inputs, **attrs)
    return load_onnx(model), model, feeds


def _only_op(graph):
    [op] = [op for op in graph.ops if not isinstance(op, ops.Constant)]
    return op


@pytest.mark.parametrize("op_type,inputs,attrs,expected", [
    ("Gather", [X(rand(2, 5, 3)), C(np.array([4, -1], I32))], {"axis": -2},
     ops.Gather(axis=1)),
    ("GatherElements", [X(rand(3, 4)), C(np.array([[0, -3]], I64))], {"axis": -1},
     ops.GatherElements(axis=1)),
    ("Expand", [X(rand(3, 1)), C(np.array([2, 1, 4], I64))], {}, ops.Expand(shape=(2, 1, 4))),
    ("Tile", [X(rand(3, 2)), C(np.array([2, 3], I64))], {}, ops.Tile(repeats=(2, 3))),
    ("DepthToSpace", [X(rand(1, 8, 2, 2))], {"blocksize": 2, "mode": "CRD"},
     ops.DepthToSpace(blocksize=2, mode="CRD")),
    ("DepthToSpace", [X(rand(1, 8, 2, 2))], {"blocksize": 2}, ops.DepthToSpace(blocksize=2)),
    ("SpaceToDepth", [X(rand(1, 2, 4, 6))], {"blocksize": 2}, ops.SpaceToDepth(blocksize=2)),
    ("Trilu", [X(rand(4, 5)), C(np.array(-1, I64))], {"upper": 0}, ops.Trilu(upper=False, k=-1)),
    ("Trilu", [X(rand(4, 5))], {}, ops.Trilu()),
])
def test_run_time_tensor_becomes_the_ir_op(op_type, inputs, attrs, expected):
    graph, model, feeds = _import(op_type, inputs, **attrs)
    op = _only_op(graph)
    assert type(op) is type(expected) and op.attributes() == expected.attributes()
    got = list(simulate(graph, feeds).values())
    np.testing.assert_allclose(got[0], run_ort(model, feeds)[0], rtol=1e-6)


def test_constant_indices_keep_their_integer_type():
    graph, _, _ = _import("Gather", [X(rand(5, 3)), C(np.array([1, -2], I32))])
    assert _only_op(graph).inputs[1].type.dtype is DType.I32


def test_run_time_indices_from_max_pool():
    nodes = [helper.make_node("MaxPool", ["x"], ["v", "i"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["x", "flat"], ["f"]),
             helper.make_node("Gather", ["f", "i"], ["y"])]
    model = _model(nodes, {"x": [1, 2, 4, 4]}, {"y": [1, 2, 2, 2]}, {"flat": np.array([-1], I64)})
    ir = load_onnx(model)
    gather = ir.ops_of(ops.Gather)[0]
    assert gather.inputs[1].producer is ir.ops_of(ops.MaxPool2dWithIndices)[0]
    x = rand(1, 2, 4, 4)
    np.testing.assert_array_equal(simulate(ir, {"x": x})["y"], run_ort(model, {"x": x})[0])


@pytest.mark.parametrize("op_type,inputs", [
    ("Gather", [C(rand(4, 3)), C(np.array([3, 0], I64))]),
    ("Expand", [C(rand(3, 1)), C(np.array([2, 3, 4], I64))]),
    ("Tile", [C(rand(2, 2)), C(np.array([1, 3], I64))]),
])
def test_constant_inputs_still_fold(op_type, inputs):
    """With every input constant the folder runs: the result is one constant output."""
    model, _ = single_node_model(op_type, 17, inputs)
    graph = load_onnx(model)
    assert [type(op) for op in graph.ops] == [ops.Constant]


def _model(nodes, inputs, outputs, inits=None):
    """A model built without onnx's shape inference (which refuses some of the bad nodes
    below itself); ``inputs`` and ``outputs`` map names to float tensor shapes."""
    graph = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(a, n) for n, a in (inits or {}).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("op_type,inits,attrs,error,message", [
    ("Gather", {"i": np.array([4], I64)}, {}, ShapeError,
     "index 4 is out of range for axis 0 of size 4"),
    ("GatherElements", {"i": np.array([[-5, 0, 0]], I64)}, {}, ShapeError,
     "index -5 is out of range"),
    ("Gather", {"i": np.array([1.0], np.float32)}, {}, UnsupportedError,
     "indices must be int32 or int64"),
    ("Expand", {"s": np.array([2, 1], I64)}, {}, ShapeError, "do not broadcast"),
    ("Tile", {"r": np.array([2], I64)}, {}, ShapeError, "needs 2 non-negative repeats"),
    ("DepthToSpace", {}, {"blocksize": 3}, ShapeError, "not a multiple of blocksize"),
    ("DepthToSpace", {}, {"blocksize": 2, "mode": "RCD"}, UnsupportedError, "mode 'RCD'"),
])
def test_bad_nodes_give_clear_errors(op_type, inits, attrs, error, message):
    node = helper.make_node(op_type, ["x", *inits], ["y"], name="bad_node", **attrs)
    model = _model([node], {"x": [4, 3] if inits else [1, 8, 2, 2]}, {"y": [1]}, inits)
    with pytest.raises(error, match=message) as err:
        load_onnx(model)
    assert "bad_node" in str(err.value)


def test_imported_graph_exports_back_to_onnx():
    """Every indexing op in one graph: import, export (backends/onnx), onnxruntime == simulator."""
    consts = {"idx": np.array([[2, -1], [0, 1]], I64), "elems": np.array([[[[0, -1, 2]]]], I32),
              "shape": np.array([2, 1, 3, 3], I64), "reps": np.array([1, 2, 1, 1], I64),
              "k": np.array(1, I64)}
    nodes = [helper.make_node("Gather", ["x", "idx"], ["g"], axis=1),          # 1x2x2x3x3
             helper.make_node("Reshape", ["g", "flat"], ["gr"]),              # 1x4x3x3
             helper.make_node("DepthToSpace", ["gr"], ["d"], blocksize=2),    # 1x1x6x6
             helper.make_node("SpaceToDepth", ["d"], ["s"], blocksize=3),     # 1x9x2x2
             helper.make_node("Trilu", ["x", "k"], ["t"], upper=0),
             helper.make_node("GatherElements", ["t", "elems"], ["e"], axis=3),  # 1x1x1x3
             helper.make_node("Expand", ["e", "shape"], ["ex"]),
             helper.make_node("Tile", ["ex", "reps"], ["y"])]
    consts["flat"] = np.array([1, 4, 3, 3], I64)
    model = _model(nodes, {"x": [1, 3, 3, 3]}, {"s": [1, 9, 2, 2], "y": [2, 2, 3, 3]}, consts)
    ir = load_onnx(model)
    feeds = {"x": rand(1, 3, 3, 3)}
    want = simulate(ir, feeds)
    exported = export_model(ir)
    assert {"Gather", "GatherElements", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
            "Trilu"} <= {n.op_type for n in exported.graph.node}
    for name, got in zip(("s", "y"), run_ort(exported, feeds)):
        np.testing.assert_allclose(got, want[name], rtol=1e-6)
    for name, ref in zip(("s", "y"), run_ort(model, feeds)):
        np.testing.assert_allclose(want[name], ref, rtol=1e-6)


def test_compile_time_constant_of_shape_and_range_feed_run_time_ops():
    """ConstantOfShape and Range fold when their inputs are known at compile time (here
    from Shape(x)); their results then serve run-time Add and Gather."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["ones"],
                              value=numpy_helper.from_array(np.ones(1, np.float32))),
             helper.make_node("Add", ["x", "ones"], ["a"]),
             helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Gather", ["a", "r"], ["y"], axis=1)]
    inits = {"start": np.array(4, I64), "limit": np.array(-1, I64), "delta": np.array(-2, I64)}
    model = _model(nodes, {"x": [2, 5]}, {"y": [2, 3]}, inits)
    ir = load_onnx(model)
    assert {type(op) for op in ir.ops} == {ops.Constant, ops.Add, ops.Gather}
    x = rand(2, 5)
    np.testing.assert_array_equal(simulate(ir, {"x": x})["y"], run_ort(model, {"x": x})[0])
