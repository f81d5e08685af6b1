"""The reduction family (ir/ops/reduce.py) in the simulator against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import ShapeError
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from ._harness import check, rand

# Positive inputs for the logarithms; LogSumExp also sees values that would overflow exp.
INPUTS = {ops.ReduceLogSum: dict(low=0.1, high=3.0), ops.ReduceLogSumExp: dict(low=-90, high=90),
          ops.ReduceProd: dict(low=0.5, high=1.5)}
AXES = [((2, 3), True), ((1,), False), ((-1,), True), ((0, 2), False), ((), True), ((), False)]


@pytest.mark.parametrize("axes,keepdims", AXES, ids=str)
@pytest.mark.parametrize("cls", ops.REDUCTIONS, ids=lambda c: c.OP_NAME)
def test_reduction(cls, axes, keepdims):
    inputs = ["x", "axes"] if axes else ["x"]
    onnx_consts = {"axes": np.array(axes, np.int64)} if axes else {}
    node = helper.make_node(cls.__name__, inputs, ["y"], keepdims=int(keepdims))
    x = rand(2, 3, 4, 5, **INPUTS.get(cls, {}))
    check(cls(axes=axes, keepdims=keepdims), node, {"x": x}, onnx_consts=onnx_consts)


def test_log_sum_exp_of_large_and_infinite_values():
    x = np.array([[1000.0, 999.0, -5.0], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0]],
                 np.float32)
    node = helper.make_node("ReduceLogSumExp", ["x", "axes"], ["y"], keepdims=0)
    got = check(ops.ReduceLogSumExp(axes=(1,), keepdims=False), node, {"x": x},
                onnx_consts={"axes": np.array([1], np.int64)})
    np.testing.assert_allclose(next(iter(got.values())), [1000.3132617, -np.inf, np.inf])


@pytest.mark.parametrize("cls,empty", [(ops.ReduceSum, 0.0), (ops.ReduceMax, -np.inf),
                                       (ops.ReduceMin, np.inf), (ops.ReduceProd, 1.0),
                                       (ops.ReduceL2, 0.0), (ops.ReduceLogSum, -np.inf)],
                         ids=lambda v: getattr(v, "OP_NAME", ""))
def test_empty_set_gives_the_identity(cls, empty):
    g = Graph("empty")
    x = g.add_input("x", TensorType((2, 0, 3), DType.F32))
    g.outputs = list(g.add(cls(axes=(1,)), [x]).outputs)
    got = next(iter(simulate(g, {"x": np.zeros((2, 0, 3), np.float32)}).values()))
    assert got.shape == (2, 1, 3)
    np.testing.assert_array_equal(got, np.full((2, 1, 3), empty, np.float32))


def test_shape_rule_refuses_bad_axes_and_integers():
    g = Graph("bad")
    x = g.add_input("x", TensorType((2, 3), DType.F32))
    with pytest.raises(ShapeError, match="out of range for rank 2"):
        g.add(ops.ReduceSum(axes=(2,)), [x])
    with pytest.raises(ShapeError, match="repeat an axis"):
        g.add(ops.ReduceMax(axes=(1, -1)), [x])
    i = g.add_input("i", TensorType((2, 3), DType.I32))
    with pytest.raises(ShapeError, match="takes a float tensor"):
        g.add(ops.ReduceSum(axes=(1,)), [i])
