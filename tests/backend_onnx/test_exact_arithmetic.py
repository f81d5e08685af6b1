"""qop_requant=exact spells quant.py's integer arithmetic with ONNX ops: property tests
of rescale (every mode, zero points, per-channel factors and bounds), quantize
(ties, NaN, infinities) and integer average pooling against the simulator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from n2d2c.backends.onnx import export_model
from n2d2c.ir import DType, Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.runtime import simulate

from .helpers import run_onnx

CHANNELS = 3


def _check(graph: Graph, feeds: dict) -> None:
    want = simulate(graph, feeds)
    got = run_onnx(export_model(graph, onnx_format="qop", qop_requant="exact"), feeds)
    for name, expected in want.items():
        assert got[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(got[name], expected, err_msg=name)


def _per_channel(draw, values):
    return tuple(draw(values) for _ in range(draw(st.sampled_from([1, CHANNELS]))))


@st.composite
def rescales(draw):
    mode = draw(st.sampled_from(["floating-point", "fixed-point16", "fixed-point32",
                                 "single-shift", "double-shift"]))
    dtype = draw(st.sampled_from(["i8", "u8", "i16"]))
    lo, hi = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}[dtype]
    attrs = {"mode": mode, "dtype": dtype, "axis": 1,
             "input_zero_point": draw(st.integers(-50, 50)),
             "zero_point": draw(st.integers(lo, min(hi, lo + 20)))}
    if mode == "floating-point":
        attrs["scales"] = _per_channel(draw, st.floats(1e-4, 3.0))
    elif mode.startswith("fixed-point"):
        limit = 32767 if mode.endswith("16") else 2**31 - 1
        attrs["multipliers"] = _per_channel(draw, st.integers(0, limit))
        attrs["shifts"] = (draw(st.integers(0, 40)),)
    else:
        attrs["shifts"] = _per_channel(draw, st.integers(0, 20))
        if mode == "double-shift":
            attrs["left_shifts"] = _per_channel(draw, st.integers(0, 8))
    if draw(st.booleans()):
        bound = draw(st.integers(lo, hi))
        attrs["out_min"] = (bound,)
        attrs["out_max"] = tuple(max(bound, draw(st.integers(lo, hi))) for _ in range(CHANNELS))
    return attrs


@settings(max_examples=40, deadline=None)
@given(rescales(), st.integers(0, 2**32 - 1))
def test_rescale(attrs, seed):
    g = Graph("rescale")
    x = g.add_input("x", TensorType((2, CHANNELS, 5), DType.I32))
    g.outputs = [g.add(O.Rescale(name="rs", **attrs), [x]).output]
    rng = np.random.default_rng(seed)
    data = rng.integers(-40000, 40000, (2, CHANNELS, 5)).astype(np.int32)
    data.reshape(-1)[:4] = (-1, 1, 2**15, -(2**15))
    _check(g, {"x": data})


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["i8", "u8", "i16"]), st.floats(1e-3, 10.0), st.integers(-3, 3),
       st.integers(0, 2**32 - 1))
def test_quantize_and_dequantize(dtype, scale, zero_point, seed):
    if dtype == "u8":
        zero_point = abs(zero_point)
    g = Graph("quantize")
    x = g.add_input("x", TensorType((4, 8)))
    q = g.add(O.Quantize(scale=scale, zero_point=zero_point, dtype=dtype, name="q"), [x]).output
    d = g.add(O.Dequantize(scale=scale, zero_point=zero_point, name="dq"), [q]).output
    g.outputs = [q, d]
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((4, 8)) * 100 * scale).astype(np.float32)
    ties = (np.arange(8) - 3.5) * np.float32(scale)  # k + 0.5 steps, as float32 allows
    data[0] = ties.astype(np.float32)
    data[1, :4] = (np.nan, np.inf, -np.inf, 0.0)
    _check(g, {"x": data})


def test_average_pooling():
    g = Graph("pool")
    x = g.add_input("x", TensorType((1, 2, 7, 7), DType.I8))
    pools = [O.AvgPool2d(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), name="a"),
             O.AvgPool2d(kernel=(2, 3), strides=(2, 1), pads=(0, 1, 1, 0), ceil_mode=True,
                         count_include_pad=True, name="b"),
             O.AvgPool2d(kernel=(2, 2), dilations=(2, 2), name="c"),
             O.GlobalAvgPool(name="d")]
    g.outputs = [g.add(p, [x]).output for p in pools]
    rng = np.random.default_rng(0)
    for _ in range(3):
        _check(g, {"x": rng.integers(-128, 128, (1, 2, 7, 7)).astype(np.int8)})
    x16 = Graph("pool16")
    y = x16.add_input("x", TensorType((1, 2, 6, 6), DType.I16))
    x16.outputs = [x16.add(O.AvgPool2d(kernel=(3, 3), pads=(1, 1, 1, 1), name="a"), [y]).output,
                   x16.add(O.MaxPool2d(kernel=(2, 2), strides=(2, 2), name="m"), [y]).output]
    _check(x16, {"x": rng.integers(-32768, 32768, (1, 2, 6, 6)).astype(np.int16)})
