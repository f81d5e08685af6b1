"""max_pool2d_with_indices and max_unpool2d: shape rules, errors, textual IR."""

import re

import numpy as np
import pytest

from n2d2c.errors import ParseError, ShapeError, VerificationError
from n2d2c.ir import DType, Graph, TensorType, ops, parse_graph, print_graph, verify

F32 = DType.F32
I64 = DType.I64


def infer(op, *types):
    return op.infer(list(types))


def test_max_pool_with_indices_gives_values_and_i64_indices():
    x = TensorType((2, 3, 7, 6))
    y, where = infer(ops.MaxPool2dWithIndices(kernel=(3, 2), strides=(2, 2), pads=(1, 0, 1, 1)),
                     x)
    assert y == TensorType((2, 3, 4, 3))
    assert where == TensorType((2, 3, 4, 3), I64)
    # The value result follows max_pool2d's rule exactly.
    [plain] = infer(ops.MaxPool2d(kernel=(3, 2), strides=(2, 2), pads=(1, 0, 1, 1)), x)
    assert plain == y


@pytest.mark.parametrize("op,x,message", [
    (ops.MaxPool2dWithIndices(kernel=(2, 2), storage_order=2), TensorType((1, 1, 4, 4)),
     re.escape("storage_order must be 0 (row major) or 1 (column major), got 2")),
    (ops.MaxPool2dWithIndices(kernel=(2, 2)), TensorType((1, 1, 4, 4), DType.I8),
     "expects a float input"),
    (ops.MaxPool2dWithIndices(kernel=(5, 5)), TensorType((1, 1, 4, 4)), "does not fit"),
])
def test_max_pool_with_indices_errors(op, x, message):
    with pytest.raises(ShapeError, match=message):
        infer(op, x)


def test_unpool_shape_rule_follows_onnx():
    data = TensorType((1, 2, 3, 4))
    where = data.with_dtype(I64)
    # (in - 1) * stride + kernel - pad_begin - pad_end along each axis
    [y] = infer(ops.MaxUnpool2d(kernel=(3, 2), strides=(2, 3), pads=(1, 0, 0, 1)), data, where)
    assert y == TensorType((1, 2, 2 * 2 + 3 - 1, 3 * 3 + 2 - 1))
    [y] = infer(ops.MaxUnpool2d(kernel=(2, 2), strides=(2, 2), output_shape=(1, 2, 7, 9)),
                data, where)
    assert y.shape == (1, 2, 7, 9)


@pytest.mark.parametrize("attrs,data,where,message", [
    (dict(kernel=(2, 2)), (1, 2, 3, 3), TensorType((1, 2, 3, 2), I64),
     r"indices must be i64 with the data's shape \[1, 2, 3, 3\], got tensor<1x2x3x2xi64>"),
    (dict(kernel=(2, 2)), (1, 2, 3, 3), TensorType((1, 2, 3, 3), DType.I32),
     "indices must be i64"),
    (dict(kernel=(2, 2)), (2, 3, 3), TensorType((2, 3, 3), I64), "expects 4-D float data"),
    (dict(kernel=(2, 2), strides=(0, 1)), (1, 1, 2, 2), None, "invalid window"),
    (dict(kernel=(2, 2), pads=(2, 0, 1, 0)), (1, 1, 1, 3), None, "leave no output"),
    (dict(kernel=(2, 2), strides=(2, 2), output_shape=(1, 1, 3, 4)), (1, 1, 2, 2), None,
     r"output_shape \[1, 1, 3, 4\] must be 4-D .* at least the inferred \[1, 1, 4, 4\]"),
    (dict(kernel=(2, 2), strides=(2, 2), output_shape=(1, 2, 4, 4)), (1, 1, 2, 2), None,
     "batch and channels"),
    (dict(kernel=(2, 2), strides=(2, 2), output_shape=(4, 4)), (1, 1, 2, 2), None,
     "must be 4-D"),
])
def test_unpool_errors(attrs, data, where, message):
    data = TensorType(data)
    where = where or data.with_dtype(I64)
    with pytest.raises(ShapeError, match=message) as info:
        infer(ops.MaxUnpool2d(name="up", **attrs), data, where)
    assert str(info.value.message).startswith("'up' (max_unpool2d): ")


def test_unpool_takes_two_operands():
    g = Graph()
    x = g.add_input("x", TensorType((1, 1, 2, 2)))
    with pytest.raises(ShapeError, match="expects 2 operands, got 1"):
        g.add(ops.MaxUnpool2d(kernel=(2, 2)), [x])


def unpool_graph() -> Graph:
    g = Graph("segnet_block")
    x = g.add_input("x", TensorType((1, 2, 7, 9)))
    pool = g.add(ops.MaxPool2dWithIndices(kernel=(3, 3), strides=(2, 2), storage_order=1,
                                          name="pool"), [x], ["pooled", "switches"])
    up = g.add(ops.MaxUnpool2d(kernel=(3, 3), strides=(2, 2), accumulate=True, name="up"),
               list(pool.outputs)).output
    where = g.constant(np.array([0, 5, 7, 3], np.int64).reshape(1, 1, 2, 2), "where")
    data = g.add(ops.Slice(axes=(1, 2, 3), starts=(0, 0, 0), ends=(1, 2, 2), steps=(1, 1, 1)),
                 [pool.outputs[0]]).output
    wide = g.add(ops.MaxUnpool2d(kernel=(2, 2), strides=(2, 2), output_shape=(1, 1, 5, 4),
                                 name="wide"), [data, where]).output
    g.outputs = [up, wide, pool.outputs[1]]
    return g


EXPECTED_LINES = [
    '  %pooled, %switches = max_pool2d_with_indices(%x) {kernel = [3, 3], strides = [2, 2], '
    'storage_order = 1} : tensor<1x2x3x4xf32>, tensor<1x2x3x4xi64> loc("pool")',
    "  %up = max_unpool2d(%pooled, %switches) {kernel = [3, 3], strides = [2, 2], "
    "accumulate = true} : tensor<1x2x7x9xf32>",
    "  %wide = max_unpool2d(%slice, %where) {kernel = [2, 2], strides = [2, 2], "
    "output_shape = [1, 1, 5, 4]} : tensor<1x1x5x4xf32>",
]


def test_textual_round_trip():
    g = unpool_graph()
    verify(g)
    text = print_graph(g)
    for line in EXPECTED_LINES:
        assert line in text.splitlines()
    again = parse_graph(text)
    verify(again)
    assert print_graph(again) == text
    op = again.find_op("up")
    assert isinstance(op, ops.MaxUnpool2d) and op.accumulate and op.output_shape == ()
    assert again.find_op("pool").outputs[1].type.dtype is I64


def test_plain_max_pool_prints_as_before():
    g = Graph("p")
    x = g.add_input("x", TensorType((1, 2, 8, 8)))
    g.outputs = [g.add(ops.MaxPool2d(kernel=(2, 2), strides=(2, 2), name="pool"), [x]).output]
    text = print_graph(g)
    assert ("  %pool = max_pool2d(%x) {kernel = [2, 2], strides = [2, 2]} : "
            "tensor<1x2x4x4xf32>") in text.splitlines()
    assert print_graph(parse_graph(text)) == text


def test_parser_checks_the_printed_result_types():
    text = print_graph(unpool_graph()).replace(
        "tensor<1x2x3x4xf32>, tensor<1x2x3x4xi64>", "tensor<1x2x3x4xf32>, tensor<1x2x3x4xi32>")
    with pytest.raises((ParseError, VerificationError)):
        verify(parse_graph(text))


def test_verifier_names_a_bad_unpool():
    text = ("graph @g(%x: tensor<1x1x2x2xf32>, %i: tensor<1x1x2x3xi64>) {\n"
            "  %y = max_unpool2d(%x, %i) {kernel = [2, 2]} : tensor<1x1x3x3xf32>\n"
            "  return %y\n}\n")
    with pytest.raises(VerificationError) as info:
        verify(parse_graph(text))
    assert "'y' (max_unpool2d): indices must be i64 with the data's shape" in str(info.value)
