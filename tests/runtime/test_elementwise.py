"""Broadcasting binaries and activations against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import ops

from ._harness import check, rand

BINARIES = [(ops.Add, "Add"), (ops.Sub, "Sub"), (ops.Mul, "Mul"), (ops.Div, "Div"),
            (ops.Max, "Max"), (ops.Min, "Min")]

SHAPES = [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((2, 3, 4, 5), (5,)),
    ((2, 3, 4, 5), (3, 1, 1)),
    ((1, 3, 1, 5), (2, 1, 4, 1)),
    ((4, 1), (1, 6)),
    ((), (2, 3)),
    ((3,), ()),
]


@pytest.mark.parametrize("a_shape,b_shape", SHAPES, ids=lambda s: "x".join(map(str, s)) or "scalar")
@pytest.mark.parametrize("cls,onnx_type", BINARIES, ids=[b[1] for b in BINARIES])
def test_binary(cls, onnx_type, a_shape, b_shape):
    a = rand(*a_shape, seed=1)
    b = rand(*b_shape, seed=2)
    if cls is ops.Div:
        b = np.where(np.abs(b) < 0.1, np.float32(0.5), b).astype(np.float32)
    node = helper.make_node(onnx_type, ["a", "b"], ["y"])
    check(cls(), node, {"a": a, "b": b})


def test_binary_with_constant_operand():
    node = helper.make_node("Mul", ["a", "k"], ["y"])
    check(ops.Mul(), node, {"a": rand(1, 4, 3, 3), "k": rand(4, 1, 1, seed=5)}, consts=("k",))


UNARIES = [
    (ops.Relu(), helper.make_node("Relu", ["x"], ["y"])),
    (ops.LeakyRelu(), helper.make_node("LeakyRelu", ["x"], ["y"])),
    (ops.LeakyRelu(alpha=0.3), helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.3)),
    (ops.Sigmoid(), helper.make_node("Sigmoid", ["x"], ["y"])),
    (ops.Softplus(), helper.make_node("Softplus", ["x"], ["y"])),
    (ops.Tanh(), helper.make_node("Tanh", ["x"], ["y"])),
    (ops.HardSigmoid(), helper.make_node("HardSigmoid", ["x"], ["y"])),
    (ops.HardSigmoid(alpha=0.25, beta=0.4),
     helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.25, beta=0.4)),
    (ops.HardSwish(), helper.make_node("HardSwish", ["x"], ["y"])),
    (ops.Mish(), helper.make_node("Mish", ["x"], ["y"])),
    *[(cls(), helper.make_node(onnx_type, ["x"], ["y"])) for cls, onnx_type in (
        (ops.Exp, "Exp"), (ops.Erf, "Erf"), (ops.Abs, "Abs"), (ops.Neg, "Neg"),
        (ops.Floor, "Floor"), (ops.Ceil, "Ceil"))],
    (ops.Identity(), helper.make_node("Identity", ["x"], ["y"])),
]


@pytest.mark.parametrize("op,node", UNARIES, ids=lambda v: repr(v) if isinstance(v, ops.UnaryOp) else "")
def test_unary(op, node):
    x = rand(2, 3, 4, 5, low=-8.0, high=8.0)
    check(op, node, {"x": x})


def test_swish_against_its_definition():
    # ONNX's Swish needs opset 24; the reference is its definition x * sigmoid(alpha x).
    nodes = [helper.make_node("Mul", ["x", "alpha"], ["t"]),
             helper.make_node("Sigmoid", ["t"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    check(ops.Swish(alpha=0.7), nodes, {"x": rand(2, 3, 4, 5, low=-8.0, high=8.0)},
          onnx_consts={"alpha": np.array(0.7, np.float32)})


@pytest.mark.parametrize("cls,onnx_type", [(ops.Sqrt, "Sqrt"), (ops.Log, "Log"),
                                            (ops.Reciprocal, "Reciprocal")])
def test_math_of_positive_values(cls, onnx_type):
    x = rand(2, 3, 4, 5, low=0.05, high=8.0)
    check(cls(), helper.make_node(onnx_type, ["x"], ["y"]), {"x": x})


def test_pow_broadcasting():
    check(ops.Pow(), helper.make_node("Pow", ["a", "b"], ["y"]),
          {"a": rand(2, 3, 4, low=0.1, high=3.0), "b": rand(3, 1, low=-2.0, high=2.0, seed=3)})


def test_sigmoid_extremes():
    x = np.array([-1000.0, -88.0, -20.0, 0.0, 20.0, 88.0, 1000.0], np.float32)
    check(ops.Sigmoid(), helper.make_node("Sigmoid", ["x"], ["y"]), {"x": x})
    check(ops.Softplus(), helper.make_node("Softplus", ["x"], ["y"]), {"x": x})


def test_dropout_is_identity():
    node = helper.make_node("Dropout", ["x"], ["y"], )
    check(ops.Dropout(ratio=0.3), node, {"x": rand(3, 4)})


@pytest.mark.parametrize("lo,hi", [(0.0, 6.0), (-0.5, 0.25), (float("-inf"), 0.3), (-0.2, float("inf"))])
def test_clip(lo, hi):
    inputs = ["x", "lo" if np.isfinite(lo) else "", "hi" if np.isfinite(hi) else ""]
    onnx_consts = {}
    if np.isfinite(lo):
        onnx_consts["lo"] = np.array(lo, np.float32)
    if np.isfinite(hi):
        onnx_consts["hi"] = np.array(hi, np.float32)
    node = helper.make_node("Clip", inputs, ["y"])
    check(ops.Clip(min=lo, max=hi), node, {"x": rand(2, 3, 5, low=-8, high=8)},
          onnx_consts=onnx_consts)


@pytest.mark.parametrize("slope_shape", [(1,), (3, 1, 1), (5,), (2, 3, 4, 5)])
def test_prelu(slope_shape):
    node = helper.make_node("PRelu", ["x", "s"], ["y"])
    check(ops.PRelu(), node, {"x": rand(2, 3, 4, 5), "s": rand(*slope_shape, seed=3)},
          consts=("s",))
