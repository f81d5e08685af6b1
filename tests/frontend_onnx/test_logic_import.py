"""Importing comparisons, And/Or/Xor/Not, Where, Cast/CastLike, Sign and ArgMax/ArgMin:
the IR they become on run-time tensors (constants keep their element type), folding when
every input is constant, and n2d2c errors (not tracebacks) for what cannot be imported."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import N2D2CError, ShapeError
from n2d2c.frontend.onnx import CONSTANT_ONLY_OPS, load_onnx
from n2d2c.ir import DType, ops
from n2d2c.runtime import simulate

from .harness import run_ort
from .single_node import rand

RUN_TIME = ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or",
            "Xor", "Where", "Cast", "CastLike", "Sign", "ArgMax", "ArgMin")


def _model(nodes, inputs, inits=(), opset=17, out=None):
    """``nodes`` reading float inputs (name -> shape), writing the float output ``y`` of
    shape ``out`` (default: the first input's)."""
    graph = helper.make_graph(
        nodes, "logic",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       out if out is not None else next(iter(inputs.values())))],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in dict(inits).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _kinds(graph):
    return [op.OP_NAME for op in graph.ops if not isinstance(op, ops.Constant)]


def test_no_longer_constant_only():
    assert not set(RUN_TIME) & set(CONSTANT_ONLY_OPS)


def test_attention_mask_idiom():
    """Where(Equal(mask, 0), -inf, scores) with an int64 constant 0 and a float -inf."""
    nodes = [helper.make_node("Cast", ["m"], ["mi"], to=TensorProto.INT64),
             helper.make_node("Equal", ["mi", "zero"], ["c"], name="eq"),
             helper.make_node("Where", ["c", "ninf", "s"], ["y"], name="mask")]
    model = _model(nodes, {"s": [2, 3, 4], "m": [2, 1, 4]},
                   {"zero": np.array(0, np.int64), "ninf": np.array(-np.inf, np.float32)})
    graph = load_onnx(model)
    assert _kinds(graph) == ["cast", "equal", "where"]
    eq = next(op for op in graph.ops if op.name == "eq")
    assert eq.inputs[1].type.dtype is DType.I64 and eq.output.type.dtype is DType.BOOL
    assert eq.output.shape == (2, 1, 4)
    feeds = {"s": rand(2, 3, 4), "m": np.floor(rand(2, 1, 4) % 2).astype(np.float32)}
    np.testing.assert_array_equal(simulate(graph, feeds)["y"], run_ort(model, feeds)[0])


@pytest.mark.parametrize("to,dtype", [(TensorProto.INT8, DType.I8), (TensorProto.UINT8, DType.U8),
                                      (TensorProto.INT16, DType.I16),
                                      (TensorProto.INT32, DType.I32),
                                      (TensorProto.INT64, DType.I64), (TensorProto.BOOL, DType.BOOL),
                                      (TensorProto.FLOAT16, DType.F16)])
def test_cast_targets(to, dtype):
    nodes = [helper.make_node("Cast", ["x"], ["c"], to=to),
             helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)]
    graph = load_onnx(_model(nodes, {"x": [3]}))
    # A float16 result is read as float32 by later ops (io_types.widen): Cast to FLOAT of
    # that is an identity.
    first, second = [op for op in graph.ops if not isinstance(op, ops.Identity)]
    assert isinstance(first, ops.Cast) and first.target is dtype
    assert isinstance(second, ops.Cast) and second.target is DType.F32


def test_same_type_cast_is_an_identity():
    graph = load_onnx(_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
                             {"x": [3]}))
    assert _kinds(graph) == ["identity"]


def test_castlike_takes_the_type_of_a_run_time_operand():
    nodes = [helper.make_node("ArgMax", ["x"], ["i"], axis=0),
             helper.make_node("CastLike", ["x", "i"], ["c"]),
             helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)]
    graph = load_onnx(_model(nodes, {"x": [3, 2]}, out=[1, 2]))
    assert [op.output.type.dtype for op in graph.ops] == [DType.I64, DType.I64, DType.F32]


def test_arg_reduce_attributes():
    node = helper.make_node("ArgMin", ["x"], ["i"], axis=-2, keepdims=0, select_last_index=1)
    graph = load_onnx(_model([node, helper.make_node("Cast", ["i"], ["y"], to=1)],
                             {"x": [2, 5, 3]}, out=[2, 3]))
    op = graph.ops[0]
    assert isinstance(op, ops.ArgMin) and op.attributes() == dict(
        axis=1, keepdims=False, select_last_index=True)
    assert op.output.type.shape == (2, 3) and op.output.type.dtype is DType.I64


def test_constants_fold():
    """All-constant comparisons, Where and ArgMax leave nothing at run time."""
    nodes = [helper.make_node("ArgMax", ["w"], ["i"], axis=1, keepdims=0),
             helper.make_node("Greater", ["i", "one"], ["c"]),
             helper.make_node("Where", ["c", "a", "b"], ["k"]),
             helper.make_node("Mul", ["x", "k"], ["y"])]
    w = np.array([[0, 3, 1], [5, 1, 0], [2, 2, 9]], np.float32)
    model = _model(nodes, {"x": [3]}, {"w": w, "one": np.array(1, np.int64),
                                       "a": np.float32([2, 2, 2]), "b": np.float32([-1, -1, -1])})
    graph = load_onnx(model)
    assert _kinds(graph) == ["mul"]
    x = rand(3)
    np.testing.assert_array_equal(simulate(graph, {"x": x})["y"], run_ort(model, {"x": x})[0])


def test_legacy_broadcast_of_opset_6():
    node = helper.make_node("Greater", ["x", "t"], ["c"], broadcast=1, axis=1)
    nodes = [node, helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)]
    graph = load_onnx(_model(nodes, {"x": [2, 3, 4]}, {"t": np.zeros(3, np.float32)}, opset=6))
    gt = next(op for op in graph.ops if isinstance(op, ops.Greater))
    assert gt.inputs[1].shape == (3, 1)
    x = rand(2, 3, 4)
    want = (x > 0).astype(np.float32)
    np.testing.assert_array_equal(simulate(graph, {"x": x})["y"], want)


def test_where_with_shapes_that_do_not_broadcast():
    node = helper.make_node("Where", ["c", "x", "z"], ["y"], name="sel")
    model = _model([helper.make_node("Less", ["x", "half"], ["c"]), node],
                   {"x": [2, 3], "z": [4]}, {"half": np.float32(0.5)})
    with pytest.raises(ShapeError, match="'sel' \\(where\\).*do not broadcast"):
        load_onnx(model)


@pytest.mark.parametrize("nodes,inits,needle", [
    # a run-time cast to an element type the IR lacks
    ([helper.make_node("Cast", ["x"], ["d"], to=TensorProto.DOUBLE, name="to_double"),
      helper.make_node("Cast", ["d"], ["y"], to=TensorProto.FLOAT)], {},
     "'to_double' \\(Cast\\).*float64 is not supported"),
    ([helper.make_node("Cast", ["x"], ["d"], to=TensorProto.BFLOAT16, name="to_bf16"),
      helper.make_node("Cast", ["d"], ["y"], to=TensorProto.FLOAT)], {},
     "'to_bf16' \\(Cast\\).*BFLOAT16 is not supported"),
    # Not of a float: ONNX types Not on bool only
    ([helper.make_node("Not", ["x"], ["y"], name="neg")], {}, "'neg' \\(not\\).*i1"),
    ([helper.make_node("ArgMax", ["x"], ["i"], axis=3, name="am"),
      helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)], {}, "'am' \\(ArgMax\\).*axis"),
    # comparing a float with a constant of another type
    ([helper.make_node("Equal", ["x", "k"], ["c"], name="eq"),
      helper.make_node("Cast", ["c"], ["y"], to=TensorProto.FLOAT)],
     {"k": np.array([1], np.int32)}, "'eq' \\(equal\\).*f32 vs i32"),
])
def test_errors_name_the_node(nodes, inits, needle):
    with pytest.raises(N2D2CError, match=needle):
        load_onnx(_model(nodes, {"x": [2, 3]}, inits))
