"""Property tests: the integer kernels against plain numpy/Python int64 references."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from n2d2c.ir import DType, Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.runtime import Simulator

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(op, inputs: dict[str, np.ndarray], constants: dict[str, np.ndarray], order):
    g = Graph("p")
    values = {}
    for name, a in inputs.items():
        values[name] = g.add_input(name, TensorType(a.shape, DType.from_numpy(a.dtype)))
    for name, a in constants.items():
        values[name] = g.constant(a, name)
    g.outputs = [g.add(op, [values[n] for n in order], ["y"]).output]
    return Simulator(g).run(inputs)["y"]


def conv_reference(x, w, b, strides, pads, dilations, group):
    x = x.astype(np.int64)
    w = w.astype(np.int64)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]), np.int64)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + wd] = x
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, m, oh, ow), np.int64) + b.astype(np.int64)[None, :, None, None]
    mg = m // group
    for oc in range(m):
        g = oc // mg
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dilations[0], i * dilations[0] + strides[0] * (oh - 1) + 1,
                             strides[0])
                cols = slice(j * dilations[1], j * dilations[1] + strides[1] * (ow - 1) + 1,
                             strides[1])
                patch = xp[:, g * cg:(g + 1) * cg, rows, cols]
                out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
    return out


@st.composite
def conv_cases(draw):
    group = draw(st.sampled_from([1, 2, 3]))
    depthwise = draw(st.booleans())
    cg = 1 if depthwise else draw(st.integers(1, 3))
    c = cg * group
    m = group * (1 if depthwise else draw(st.integers(1, 3)))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    assume(h + pads[0] + pads[2] >= dilations[0] * (kh - 1) + 1)
    assume(w + pads[1] + pads[3] >= dilations[1] * (kw - 1) + 1)
    xdt = draw(st.sampled_from([np.uint8, np.int8, np.int16]))
    wdt = np.int16 if xdt is np.int16 else np.int8
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    xi, wi = np.iinfo(xdt), np.iinfo(wdt)
    x = rng.integers(xi.min, xi.max, (1, c, h, w), endpoint=True).astype(xdt)
    wt = rng.integers(-wi.max, wi.max, (m, cg, kh, kw), endpoint=True).astype(wdt)
    bdt = np.int64 if xdt is np.int16 else np.int32
    b = rng.integers(-(1 << 20), 1 << 20, m).astype(bdt)
    return x, wt, b, strides, pads, dilations, group


@SETTINGS
@given(conv_cases())
def test_integer_conv_matches_int64_reference(case):
    x, w, b, strides, pads, dilations, group = case
    op = O.Conv2d(strides=strides, pads=pads, dilations=dilations, group=group)
    got = _run(op, {"x": x}, {"w": w, "b": b}, ["x", "w", "b"])
    want = conv_reference(x, w, b, strides, pads, dilations, group)
    assert got.dtype == (np.int64 if x.dtype == np.int16 else np.int32)
    np.testing.assert_array_equal(got.astype(np.int64), want)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 40), st.integers(1, 6), st.booleans(),
       st.sampled_from([np.uint8, np.int8]), st.integers(0, 2**31))
def test_integer_gemm_matches_int64_reference(m, k, n, trans_b, xdt, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(np.iinfo(xdt).min, np.iinfo(xdt).max, (m, k), endpoint=True).astype(xdt)
    b = rng.integers(-127, 127, (n, k) if trans_b else (k, n), endpoint=True).astype(np.int8)
    c = rng.integers(-(1 << 24), 1 << 24, n).astype(np.int32)
    got = _run(O.Gemm(trans_b=trans_b), {"a": a}, {"b": b, "c": c}, ["a", "b", "c"])
    bb = b.T if trans_b else b
    want = a.astype(np.int64) @ bb.astype(np.int64) + c
    np.testing.assert_array_equal(got.astype(np.int64), want)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 30), st.integers(1, 5),
       st.integers(0, 2**31))
def test_integer_matmul_matches_int64_reference(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 127, (batch, m, k), endpoint=True).astype(np.int8)
    b = rng.integers(0, 255, (k, n), endpoint=True).astype(np.uint8)
    got = _run(O.MatMul(), {"a": a, "b": b}, {}, ["a", "b"])
    np.testing.assert_array_equal(got.astype(np.int64), a.astype(np.int64) @ b.astype(np.int64))


def _floor_shift(v: int, s: int) -> int:
    return v >> s  # Python's >> on ints is floor division by 2**s, like the IR's


@SETTINGS
@given(st.lists(st.one_of(st.integers(-2000, 2000), st.integers(-(1 << 31), (1 << 31) - 1)),
                min_size=1, max_size=20),
       st.sampled_from(["fixed-point16", "fixed-point32", "single-shift", "double-shift",
                        "floating-point"]),
       st.integers(0, 1 << 31), st.integers(0, 31), st.integers(0, 8),
       st.floats(1e-6, 4.0), st.integers(-5, 5))
def test_rescale_matches_python_reference(values, mode, mult, shift, left, scale, zp):
    limit = 32767 if mode == "fixed-point16" else (1 << 31) - 1
    mult = min(mult, limit)
    bound = 1 << 20
    attrs = {"mode": mode, "zero_point": zp, "out_min": (-bound,), "out_max": (bound,),
             "dtype": "i32"}
    if mode.startswith("fixed"):
        attrs.update(multipliers=(mult,), shifts=(shift,))
    elif mode == "single-shift":
        attrs.update(shifts=(shift,))
    elif mode == "double-shift":
        attrs.update(shifts=(shift,), left_shifts=(left,))
    else:
        attrs.update(scales=(scale,))
    x = np.array(values, np.int32)
    got = _run(O.Rescale(axis=0, **attrs), {"x": x}, {}, ["x"]).tolist()

    def ref(v):
        half = (1 << (shift - 1)) if shift > 0 else 0
        if mode.startswith("fixed"):
            r = _floor_shift(v * mult + half, shift)
        elif mode == "single-shift":
            r = _floor_shift(v + half, shift)
        elif mode == "double-shift":
            r = _floor_shift(v + (v << left) + half, shift)
        else:
            t = float(v) * scale
            r = math.trunc(t)
            r += 1 if t - r >= 0.5 else (-1 if t - r <= -0.5 else 0)
        return min(max(r + zp, -bound), bound)

    assert got == [ref(v) for v in values]


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 1), st.booleans(), st.integers(0, 2**31))
def test_integer_avg_pool_matches_exact_rounding(c, h, w, k, s, pad, include, seed):
    assume(h + 2 * pad >= k and w + 2 * pad >= k and pad < k)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, (1, c, h, w), endpoint=True).astype(np.int8)
    op = O.AvgPool2d(kernel=(k, k), strides=(s, s), pads=(pad,) * 4, count_include_pad=include)
    got = _run(op, {"x": x}, {}, ["x"])
    oh, ow = got.shape[2:]
    for ch in range(c):
        for i in range(oh):
            for j in range(ow):
                cells = [(i * s - pad + a, j * s - pad + b) for a in range(k) for b in range(k)]
                inside = [x[0, ch, r, q] for r, q in cells if 0 <= r < h and 0 <= q < w]
                n = len(cells) if include else len(inside)
                total = int(sum(int(v) for v in inside))
                magnitude = (2 * abs(total) + n) // (2 * n)
                assert got[0, ch, i, j] == (-magnitude if total < 0 else magnitude)
