"""Hand-computed cases of the integer IR's exact semantics (n2d2c/ir/ops/quant.py):
rescale in every mode (negative values, ties, saturation, per channel, zero
points), quantize/dequantize, integer pooling, add and clamps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from n2d2c.errors import ShapeError
from n2d2c.ir import DType, Graph, TensorType, parse_graph, print_graph
from n2d2c.ir import ops as O
from n2d2c.runtime import simulate


def run_op(op, *arrays, dtypes=None):
    g = Graph("t")
    values = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        values.append(g.add_input(f"x{i}", TensorType(a.shape, DType.from_numpy(a.dtype))))
    g.outputs = [g.add(op, values, ["y"]).output]
    return simulate(g, {f"x{i}": a for i, a in enumerate(arrays)})["y"]


def rescale(x, in_dtype=np.int32, **attrs):
    return run_op(O.Rescale(**attrs), np.asarray(x, in_dtype)).tolist()


def test_floating_point_rounds_half_away_from_zero():
    x = [[-5, -3, -1, 1, 3, 5, 4, 0]]
    assert rescale(x, mode="floating-point", scales=(0.5,)) == [[-3, -2, -1, 1, 2, 3, 2, 0]]


def test_fixed_point_rounds_half_up():
    # 0.75 = 3 * 2**-2; exact values -4.5 -1.5 1.5 4.5 0.75 2.25 -2.25 -0.75
    x = [[-6, -2, 2, 6, 1, 3, -3, -1]]
    expected = [[-4, -1, 2, 5, 1, 2, -2, -1]]
    assert rescale(x, mode="fixed-point16", multipliers=(3,), shifts=(2,)) == expected
    assert rescale(x, mode="fixed-point32", multipliers=(3 << 20,), shifts=(22,)) == expected
    assert rescale(x, mode="fixed-point16", multipliers=(5,), shifts=(0,)) == \
        [[-30, -10, 10, 30, 5, 15, -15, -5]]


def test_single_shift():
    x = [[-3, -2, -1, 0, 1, 2, 3]]
    assert rescale(x, mode="single-shift", shifts=(1,)) == [[-1, -1, 0, 0, 1, 1, 2]]
    assert rescale(x, mode="single-shift", shifts=(0,)) == x
    assert rescale([[-1000, 1000, 1023, 1024]], mode="single-shift", shifts=(10,)) == \
        [[-1, 1, 1, 1]]


def test_double_shift():
    # (x + (x << 1) + 4) >> 3 = x * 3/8 rounded half up: 1.5 -1.5 3 0.375 -0.375
    assert rescale([[4, -4, 8, 1, -1]], mode="double-shift", left_shifts=(1,), shifts=(3,)) == \
        [[2, -1, 3, 0, 0]]
    # l = 0 doubles: (2x + 1) >> 1 = x
    assert rescale([[-7, 7]], mode="double-shift", left_shifts=(0,), shifts=(1,)) == [[-7, 7]]


def test_saturation_comes_last_and_uses_dtype_bounds():
    x = [[200, -200, 127, -128, -129]]
    assert rescale(x, mode="fixed-point32", multipliers=(1 << 30,), shifts=(30,)) == \
        [[127, -128, 127, -128, -128]]
    # zero point added before clamping to u8
    assert rescale([[-20, 0, 250, 245]], mode="floating-point", scales=(1.0,), zero_point=10,
                   dtype="u8") == [[0, 10, 255, 255]]
    # explicit bounds: fused ReLU6 at 60 levels
    assert rescale([[-5, 30, 100]], mode="floating-point", scales=(1.0,), out_min=(0,),
                   out_max=(60,)) == [[0, 30, 60]]
    # 16-bit output
    assert rescale([[40000, -40000]], mode="single-shift", shifts=(0,), dtype="i16") == \
        [[32767, -32768]]


def test_per_channel_parameters_and_bounds():
    x = np.array([[[3, 4, 5], [3, 4, 5]]], np.int32)
    assert rescale(x, mode="single-shift", shifts=(1, 2)) == [[[2, 2, 3], [1, 1, 1]]]
    assert rescale(x, mode="floating-point", scales=(1.0,), out_min=(4, 0), out_max=(127, 3)) \
        == [[[4, 4, 5], [3, 3, 3]]]
    # the last axis as channel axis (matmul outputs)
    y = np.array([[10, 10], [20, 20]], np.int32)
    assert rescale(y, mode="fixed-point16", axis=1, multipliers=(1, 3), shifts=(1,)) == \
        [[5, 15], [10, 30]]


def test_input_zero_point():
    assert rescale([[0, 128, 255]], in_dtype=np.uint8, mode="floating-point", scales=(1.0,),
                   input_zero_point=128) == [[-128, 0, 127]]


def test_rescale_attribute_checks():
    g = Graph("t")
    x = g.add_input("x", TensorType((1, 2, 3), DType.I32))
    bad = [dict(mode="nope"), dict(mode="floating-point"),                  # no scales
           dict(mode="single-shift", shifts=(1, 2, 3)),                     # 3 for 2 channels
           dict(mode="fixed-point16", multipliers=(40000,), shifts=(1,)),   # > int16
           dict(mode="single-shift", shifts=(63,)),
           dict(mode="single-shift", shifts=(1,), scales=(1.0,)),           # unused attribute
           dict(mode="single-shift", shifts=(1,), out_min=(5,), out_max=(4,)),
           dict(mode="single-shift", shifts=(1,), out_max=(300,)),          # outside i8
           dict(mode="single-shift", shifts=(1,), dtype="f32")]
    for attrs in bad:
        with pytest.raises(ShapeError):
            g.add(O.Rescale(**attrs), [x])
    f = g.add_input("f", TensorType((2,), DType.F32))
    with pytest.raises(ShapeError):
        g.add(O.Rescale(mode="single-shift", shifts=(1,)), [f])
    with pytest.raises(ShapeError):
        g.add(O.Quantize(scale=0.0), [f])
    with pytest.raises(ShapeError):
        g.add(O.Quantize(scale=1.0, dtype="u8", zero_point=-1), [f])
    with pytest.raises(ShapeError):
        g.add(O.Dequantize(scale=1.0), [f])


def test_quantize_and_dequantize():
    x = np.array([0.25, 0.75, -0.25, -0.75, 1.0, np.nan, np.inf, -np.inf, 100.0, 2.5, -2.5],
                 np.float32)
    assert run_op(O.Quantize(scale=0.5), x).tolist() == \
        [1, 2, -1, -2, 2, 0, 127, -128, 127, 5, -5]
    assert run_op(O.Quantize(scale=1.0), x).tolist()[-2:] == [3, -3]
    q = run_op(O.Quantize(scale=0.5, zero_point=3, dtype="u8"), x)
    assert q.dtype == np.uint8 and q.tolist() == [4, 5, 2, 1, 5, 3, 255, 0, 203, 8, 0]
    d = run_op(O.Dequantize(scale=0.1, zero_point=3), np.array([-128, 0, 3, 127], np.int8))
    assert d.dtype == np.float32
    assert d.tolist() == [np.float32(-131 * 0.1), np.float32(-0.30000000000000004), 0.0,
                          np.float32(124 * 0.1)]


def test_integer_average_pooling_rounds_half_away():
    windows = np.array([[[1, 2], [2, 2]], [[1, 1], [0, 0]], [[-1, -1], [0, 0]],
                        [[-1, 0], [0, 0]], [[-2, -2], [-2, -1]]], np.int8)[None]
    out = run_op(O.AvgPool2d(kernel=(2, 2), strides=(2, 2)), windows)
    assert out.dtype == np.int8 and out.reshape(-1).tolist() == [2, 1, -1, 0, -2]
    assert run_op(O.GlobalAvgPool(), windows).reshape(-1).tolist() == [2, 1, -1, 0, -2]
    # padded cells are not counted unless count_include_pad
    x = np.full((1, 1, 2, 2), 3, np.uint8)
    assert run_op(O.AvgPool2d(kernel=(2, 2), pads=(1, 1, 0, 0)), x).reshape(-1).tolist() == \
        [3, 3, 3, 3]
    assert run_op(O.AvgPool2d(kernel=(2, 2), pads=(1, 1, 0, 0), count_include_pad=True),
                  x).reshape(-1).tolist() == [1, 2, 2, 3]  # 3/4, 6/4, 6/4, 12/4


def test_integer_max_pool_ignores_padding():
    x = np.full((1, 1, 2, 2), -5, np.int8)
    out = run_op(O.MaxPool2d(kernel=(3, 3), pads=(1, 1, 1, 1)), x)
    assert out.tolist() == [[[[-5, -5], [-5, -5]]]]
    assert run_op(O.GlobalMaxPool(), x).reshape(-1).tolist() == [-5]


def test_integer_add_and_clamps():
    a = np.array([[100, -100, 127]], np.int8)
    b = np.array([[200], [255]], np.uint8)  # broadcasts
    out = run_op(O.Add(), a, b)
    assert out.dtype == np.int32 and out.tolist() == [[300, 100, 327], [355, 155, 382]]
    x = np.array([-3, -1, 0, 2, 3], np.int8)
    assert run_op(O.Relu(), x).tolist() == [0, 0, 0, 2, 3]
    assert run_op(O.Clip(min=-1.5, max=2.5), x).tolist() == [-1, -1, 0, 2, 2]
    assert run_op(O.Clip(min=-math.inf, max=1000.0), x).tolist() == x.tolist()


def test_integer_layer_shape_rules():
    g = Graph("t")
    x8 = g.add_input("x8", TensorType((1, 2, 4, 4), DType.U8))
    x16 = g.add_input("x16", TensorType((1, 2, 4, 4), DType.I16))
    w8 = g.constant(np.ones((3, 2, 1, 1), np.int8), "w8")
    w16 = g.constant(np.ones((3, 2, 1, 1), np.int16), "w16")
    b32 = g.constant(np.zeros(3, np.int32), "b32")
    b64 = g.constant(np.zeros(3, np.int64), "b64")
    assert g.add(O.Conv2d(), [x8, w8, b32]).output.type.dtype is DType.I32
    assert g.add(O.Conv2d(), [x16, w16, b64]).output.type.dtype is DType.I64
    assert g.add(O.Conv2d(), [x8, w16]).output.type.dtype is DType.I64
    for inputs, attrs in [([x8, w8, b64], {}),                          # bias type
                          ([x8, g.constant(np.ones((3, 2, 1, 1), np.uint8), "wu")], {}),
                          ([x8, w8], {"activation": "relu"}),
                          ([x8, g.constant(np.ones((3, 2, 1, 1), np.float32), "wf")], {})]:
        with pytest.raises(ShapeError):
            g.add(O.Conv2d(**attrs), inputs)
    a = g.add_input("a", TensorType((2, 5), DType.I8))
    bm = g.constant(np.ones((4, 5), np.int8), "bm")
    assert g.add(O.Gemm(trans_b=True), [a, bm]).output.type.dtype is DType.I32
    with pytest.raises(ShapeError):
        g.add(O.Gemm(trans_b=True, alpha=2.0), [a, bm])
    ua = g.add_input("ua", TensorType((5, 3), DType.U8))
    assert g.add(O.MatMul(), [a, ua]).output.type.dtype is DType.I32


def test_quantized_ops_print_and_parse():
    text = """graph @q(%x: tensor<1x2x3xf32>) {
  %q = quantize(%x) {scale = 0.5, dtype = "u8"} : tensor<1x2x3xu8>
  %w = constant dense<[1, -2, 3, -4]> : tensor<2x2xi8>
  %r = rescale(%q) {mode = "double-shift", shifts = [3, 4], left_shifts = [1], out_min = [0], out_max = [100, 127], output_scale = 0.25} : tensor<1x2x3xi8>
  %y = dequantize(%r) {scale = 0.25} : tensor<1x2x3xf32>
  return %y
}
"""
    g = parse_graph(text)
    assert print_graph(g) == text
    r = g.ops_of(O.Rescale)[0]
    assert r.shifts == (3, 4) and r.left_shifts == (1,) and r.out_max == (100, 127)
    np.testing.assert_allclose(r.effective_multipliers(2), [3 / 8, 3 / 16])
