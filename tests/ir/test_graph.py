"""Graph construction, shape rules and the rewrite API that passes use."""

import numpy as np
import pytest

from n2d2c.errors import ShapeError, VerificationError
from n2d2c.ir import Graph, TensorType, ops, verify


def chain():
    g = Graph()
    x = g.add_input("x", TensorType((1, 4)))
    a = g.add(ops.Relu(name="a"), [x]).output
    b = g.add(ops.Dropout(name="b"), [a]).output
    c = g.add(ops.Sigmoid(name="c"), [b]).output
    g.outputs = [c]
    return g


def test_users_and_replace_and_erase():
    g = chain()
    drop = g.find_op("b")
    assert g.users(drop.inputs[0]) == [(drop, 0)]
    g.replace_op(drop, [drop.inputs[0]])
    assert [op.name for op in g.ops] == ["a", "c"]
    assert g.find_op("c").inputs[0] is g.find_op("a").output
    verify(g)


def test_erase_refuses_used_op():
    g = chain()
    with pytest.raises(VerificationError, match="still used"):
        g.erase(g.find_op("a"))


def test_insert_before_and_topo_sort():
    g = chain()
    a = g.find_op("a")
    g.add(ops.Tanh(name="t"), [g.inputs[0]], before=a)
    assert g.ops[0].name == "t"
    # An op inserted before the producer of its operand: out of order until sorted.
    g.add(ops.Sigmoid(name="e"), [a.output], before=a)
    with pytest.raises(VerificationError, match="used before it is defined"):
        verify(g)
    g.topo_sort()
    assert [op.name for op in g.ops] == ["t", "a", "b", "c", "e"]  # e waits one sweep
    verify(g)
    assert g.remove_dead_ops() == 2  # the tanh and the sigmoid reach no output


@pytest.mark.parametrize("op, shapes, expected", [
    (ops.Conv2d(strides=(2, 2), pads=(1, 1, 1, 1)), [(1, 3, 7, 7), (8, 3, 3, 3)], (1, 8, 4, 4)),
    (ops.Conv2d(group=4), [(1, 8, 5, 5), (8, 2, 1, 1)], (1, 8, 5, 5)),
    (ops.Conv2d(dilations=(2, 2)), [(1, 1, 7, 7), (1, 1, 3, 3)], (1, 1, 3, 3)),
    (ops.ConvTranspose2d(strides=(2, 2), pads=(1, 1, 1, 1), output_padding=(1, 1)),
     [(1, 4, 5, 5), (4, 2, 3, 3)], (1, 2, 10, 10)),
    (ops.MaxPool2d(kernel=(3, 3), strides=(2, 2), ceil_mode=True), [(1, 1, 6, 6)], (1, 1, 3, 3)),
    (ops.Gemm(trans_b=True), [(2, 5), (3, 5), (3,)], (2, 3)),
    (ops.MatMul(), [(2, 1, 4, 5), (3, 5, 6)], (2, 3, 4, 6)),
    (ops.MatMul(), [(5,), (5, 6)], (6,)),
    (ops.Add(), [(1, 3, 1, 4), (3, 2, 1)], (1, 3, 2, 4)),
    (ops.Concat(axis=-1), [(1, 2), (1, 3)], (1, 5)),
    (ops.Slice(axes=(1,), starts=(4,), ends=(-1,), steps=(-2,)), [(1, 6)], (1, 3)),
    (ops.Pad(pads=(0, 1, 0, 2)), [(2, 2)], (2, 5)),
    (ops.ReduceMean(axes=(2, 3), keepdims=False), [(1, 3, 4, 4)], (1, 3)),
    (ops.GlobalAvgPool(), [(1, 3, 4, 4)], (1, 3, 1, 1)),
])
def test_shape_rules(op, shapes, expected):
    types = [TensorType(s) for s in shapes]
    assert op.infer(types)[0].shape == expected


@pytest.mark.parametrize("op, shapes, message", [
    (ops.Conv2d(), [(1, 3, 7, 7), (8, 4, 3, 3)], "3 channels"),
    (ops.Add(), [(1, 3), (1, 4)], "do not broadcast"),
    (ops.Reshape(shape=(5,)), [(2, 3)], "cannot reshape"),
    (ops.Gemm(), [(2, 5), (4, 3)], "inner dimensions"),
    (ops.Concat(axis=1), [(1, 2, 3), (1, 2, 4)], "differ outside axis"),
])
def test_shape_errors_name_the_op(op, shapes, message):
    op.name = "bad_node"
    with pytest.raises(ShapeError, match=message) as info:
        op.infer([TensorType(s) for s in shapes])
    assert "'bad_node'" in str(info.value)


def test_constant_dtype_and_unique_names():
    g = Graph()
    c1 = g.constant(np.zeros((2,), np.int8), "k")
    c2 = g.constant(np.zeros((2,), np.float32), "k")
    assert c1.name == "k" and c2.name == "k_1"
    assert str(c1.type) == "tensor<2xi8>"
