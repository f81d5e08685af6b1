"""Gemm and MatMul against onnxruntime."""

import pytest
from onnx import helper

from n2d2c.ir import ops

from ._harness import check, rand


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("c_shape", [None, (6,), (4, 6), (1, 1), (4, 1)])
def test_gemm(trans_a, trans_b, c_shape):
    a = rand(*((7, 4) if trans_a else (4, 7)))
    b = rand(*((6, 7) if trans_b else (7, 6)), seed=1)
    arrays = {"a": a, "b": b}
    names = ["a", "b"]
    if c_shape:
        arrays["c"] = rand(*c_shape, seed=2)
        names.append("c")
    node = helper.make_node("Gemm", names, ["y"], transA=int(trans_a), transB=int(trans_b),
                            alpha=0.75, beta=1.5)
    check(ops.Gemm(trans_a=trans_a, trans_b=trans_b, alpha=0.75, beta=1.5), node, arrays,
          consts=tuple(names[1:]))


def test_gemm_defaults_fc_layer():
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)
    check(ops.Gemm(trans_b=True), node,
          {"x": rand(2, 512), "w": rand(100, 512, seed=1), "b": rand(100, seed=2)},
          consts=("w", "b"))


@pytest.mark.parametrize("a_shape,b_shape", [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 1, 4, 5)),
    ((4,), (4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (4,)),
], ids=str)
def test_matmul(a_shape, b_shape):
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    check(ops.MatMul(), node, {"a": rand(*a_shape), "b": rand(*b_shape, seed=1)})
