"""n2d2c/ir/integer.py against brute-force Python-int references (ties, saturation,
every rescale mode, int64 extremes), and the simulator kernels against it."""

from __future__ import annotations

import zlib
from fractions import Fraction

import numpy as np
import pytest

from n2d2c.ir import DType, Graph, TensorType
from n2d2c.ir import integer
from n2d2c.ir import ops as O
from n2d2c.runtime import Simulator
from n2d2c.runtime.kernels.integer.quant import rescale_reference

I64_MIN, I64_MAX = integer.INT64_MIN, integer.INT64_MAX


def exact_round_half_away(x: float) -> int:
    f = Fraction(x)
    magnitude = int(abs(f) + Fraction(1, 2))  # int() of a non-negative Fraction floors
    return magnitude if f >= 0 else -magnitude


# -- rounding ---------------------------------------------------------------------------------
TIES = [(0.5, 1), (-0.5, -1), (2.5, 3), (-2.5, -3), (1.5, 2), (-1.5, -2), (0.0, 0),
        (0.49999999999999994, 0), (-0.49999999999999994, 0), (2.4999999999999996, 2),
        (4503599627370495.5, 4503599627370496), (2.0 ** 60, 2 ** 60)]


@pytest.mark.parametrize("x, want", TIES)
def test_round_half_away_ties(x, want):
    assert integer.round_half_away_int(x) == want
    assert integer.round_half_away(np.array([x]))[0] == want
    assert exact_round_half_away(x) == want


def test_round_half_away_random_and_special_values():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 10, 2000), rng.integers(-50, 50, 200) + 0.5,
                        rng.normal(0, 1e17, 200)])
    got = integer.round_half_away(x)
    assert [int(v) for v in got] == [exact_round_half_away(float(v)) for v in x]
    assert [integer.round_half_away_int(float(v)) for v in x] == [int(v) for v in got]
    special = integer.round_half_away(np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(special[0]) and special[1] == np.inf and special[2] == -np.inf


def test_divide_round_half_away():
    rng = np.random.default_rng(1)
    total = np.concatenate([rng.integers(-10**6, 10**6, 3000), [-5, -3, -1, 1, 3, 5, 0]])
    count = np.concatenate([rng.integers(1, 50, 3000), [2, 2, 2, 2, 2, 2, 7]])
    got = integer.divide_round_half_away(total, count)
    want = [exact_round_half_away(float(Fraction(int(t), int(c)))) if abs(t) < 2**50 else None
            for t, c in zip(total, count)]
    assert [int(v) for v in got] == want
    assert list(integer.divide_round_half_away([-5, 5, -3, 3], 2)) == [-3, 3, -2, 2]


def test_shift_round_half_up_ties_toward_plus_infinity_and_no_overflow():
    assert list(integer.shift_round_half_up([5, -5, 3, -3, 7], 1)) == [3, -2, 2, -1, 4]
    extremes = np.array([I64_MIN, I64_MIN + 1, -1, 0, 1, I64_MAX - 1, I64_MAX], np.int64)
    for s in (0, 1, 2, 31, 62, 63):
        got = integer.shift_round_half_up(extremes, s)
        half = (1 << (s - 1)) if s else 0
        assert [int(v) for v in got] == [(int(v) + half) >> s for v in extremes]


# -- saturation -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [DType.I8, DType.U8, DType.I16, DType.I32, DType.I64])
def test_dtype_bounds_and_saturate(dtype):
    info = np.iinfo(dtype.numpy)
    assert integer.dtype_bounds(dtype) == (int(info.min), int(info.max))
    assert integer.dtype_bounds(dtype.numpy) == (int(info.min), int(info.max))
    values = np.array([float(info.min) * 4 - 1, info.min, -1, 0, 1, info.max,
                       float(info.max) * 4 + 1], np.float64)
    got = integer.saturate(values, dtype)
    assert got.dtype == dtype.numpy
    assert got[0] == info.min and got[-1] == info.max and got[3] == 0


def test_saturated_bounds():
    assert integer.saturated_bounds(-0.5, 6.5, np.int8) == (0, 6)
    assert integer.saturated_bounds(-np.inf, np.inf, DType.U8) == (0, 255)
    assert integer.saturated_bounds(-1000.0, 1000.0, DType.I8) == (-128, 127)
    assert integer.saturated_bounds(300.0, 400.0, DType.U8) == (255, 255)


def test_float_to_int64_saturates():
    got = integer.float_to_int64(np.array([2.0 ** 63, -2.0 ** 63, 2.0 ** 70, -1e300, 3.0,
                                           2.0 ** 63 - 1024]))
    assert [int(v) for v in got] == [I64_MAX, I64_MIN, I64_MAX, I64_MIN, 3, 2 ** 63 - 1024]


# -- quantize ---------------------------------------------------------------------------------
def test_quantize_reference():
    x = np.array([0.5, -0.5, 1.25, -1.25, 1000.0, -1000.0, np.nan, np.inf, -np.inf], np.float32)
    got = integer.quantize(x, 0.5, 3, DType.I8)
    assert got.tolist() == [4, 2, 6, 0, 127, -128, 3, 127, -128]
    assert integer.dequantize(got, 0.5, 3).tolist() == [0.5, -0.5, 1.5, -1.5, 62.0, -65.5,
                                                        0.0, 62.0, -65.5]


# -- rescale ----------------------------------------------------------------------------------
def reference_rescale(x: int, mode: str, scale: float, mult: int, shift: int, left: int,
                      in_zp: int, zp: int, lo: int, hi: int) -> int:
    """quant.py's rescale, one element, in Python ints (no int64 limits)."""
    v = x - in_zp
    if mode == "floating-point":
        r = float(exact_round_half_away(float(v) * scale))
        y = r + float(zp)            # a double, compared exactly with the bounds
        return int(min(max(y, lo), hi))
    t = {"fixed-point16": v * mult, "fixed-point32": v * mult, "single-shift": v,
         "double-shift": v + (v << left)}[mode]
    half = (1 << (shift - 1)) if shift else 0
    return min(max(((t + half) >> shift) + zp, lo), hi)


def random_case(rng, mode: str, n: int):
    """(x, params) with the spec's int64 intermediates in range, including extremes."""
    scale = mult = left = 0
    if mode == "floating-point":
        x = np.concatenate([rng.integers(-2**31, 2**31, n), [I64_MIN, I64_MAX, 0, 1, -1]])
        scale = float(rng.choice([rng.uniform(0, 2), 2.0 ** -int(rng.integers(0, 60)), 0.5]))
        shift = 0
    elif mode.startswith("fixed-point"):
        limit = (1 << 15) - 1 if mode.endswith("16") else (1 << 31) - 1
        mult = int(rng.integers(0, limit + 1))
        x = np.concatenate([rng.integers(-2**31, 2**31, n), [-2**31, 2**31 - 1, 0, 1, -1]])
        shift = int(rng.integers(0, 63))
    elif mode == "single-shift":
        x = np.concatenate([rng.integers(I64_MIN, I64_MAX, n, endpoint=True),
                            [I64_MIN, I64_MAX, I64_MAX - 1, 0, 1, -1]])
        shift = int(rng.integers(0, 63))
    else:
        left = int(rng.integers(0, 21))
        x = np.concatenate([rng.integers(-2**40, 2**40, n), [-2**40, 2**40, 0, 1, -1]])
        shift = int(rng.integers(left, 63))
    return x.astype(np.int64), scale, mult, shift, left


@pytest.mark.parametrize("mode", integer.RESCALE_MODES)
@pytest.mark.parametrize("out", [DType.I8, DType.U8, DType.I16, DType.I32, DType.I64])
def test_rescale_matches_python_ints(mode, out):
    rng = np.random.default_rng(zlib.crc32(f"{mode} {out.value}".encode()))
    dlo, dhi = integer.dtype_bounds(out)
    for _ in range(8):
        x, scale, mult, shift, left = random_case(rng, mode, 200)
        zp = int(rng.integers(max(dlo, -100), min(dhi, 100) + 1)) if rng.random() < 0.5 else 0
        if mode == "single-shift" and shift == 0:
            zp = 0  # (r + zero_point would leave int64 at the extremes)
        # (x - input_zero_point must stay in int64 for the int64 extremes)
        in_zp = int(rng.integers(-3, 4)) if mode not in ("single-shift", "floating-point") else 0
        lo, hi = (dlo, dhi) if rng.random() < 0.5 else (max(dlo, zp), min(dhi, zp + 100))
        got = integer.rescale(x, mode, scales=scale, multipliers=mult, shifts=shift,
                              left_shifts=left, input_zero_point=in_zp, zero_point=zp,
                              out_min=lo, out_max=hi)
        want = [reference_rescale(int(v), mode, scale, mult, shift, left, in_zp, zp, lo, hi)
                for v in x]
        assert [int(v) for v in got] == want, (mode, out, scale, mult, shift, left)


def test_rescale_per_channel_parameters_broadcast():
    x = np.arange(-12, 12, dtype=np.int64).reshape(2, 3, 4)
    shifts = np.array([0, 1, 2]).reshape(1, 3, 1)
    got = integer.rescale(x, "single-shift", shifts=shifts, out_min=-128, out_max=127)
    want = [[[reference_rescale(int(x[n, c, i]), "single-shift", 0, 0, int(shifts[0, c, 0]), 0,
                                0, 0, -128, 127) for i in range(4)] for c in range(3)]
            for n in range(2)]
    assert got.tolist() == want


def rescale_op(mode, channels, rng, out: DType) -> O.Rescale:
    """A per-channel Rescale whose int64 intermediates fit for inputs of random_case."""
    cases = [random_case(rng, mode, 0) for _ in range(channels)]
    dlo, dhi = integer.dtype_bounds(out)
    attrs = {"floating-point": {"scales": tuple(c[1] for c in cases)},
             "fixed-point16": {"multipliers": tuple(c[2] for c in cases)},
             "fixed-point32": {"multipliers": tuple(c[2] for c in cases)},
             "single-shift": {}, "double-shift": {"left_shifts": tuple(c[4] for c in cases)}}
    if mode != "floating-point":
        attrs[mode]["shifts"] = tuple(max(c[3], 1) for c in cases)  # (r + zp stays in int64)
    # channel 0 saturates at the dtype's bounds only, the others at narrower ones
    lo = (dlo, *(int(v) for v in rng.integers(dlo, max(dlo, -50) + 1, channels - 1)))
    hi = (dhi, *(max(v, min(dhi, 60)) for v in lo[1:]))
    return O.Rescale(name="r", mode=mode, axis=1, zero_point=int(rng.integers(0, 20)),
                     out_min=lo, out_max=hi, dtype=out.value, **attrs[mode])


@pytest.mark.parametrize("mode", integer.RESCALE_MODES)
@pytest.mark.parametrize("out", [DType.I8, DType.U8, DType.I32, DType.I64])
def test_simulator_rescale_kernel_agrees_with_the_reference(mode, out):
    """The numba kernel restates integer.rescale per element: same numbers, extremes too."""
    rng = np.random.default_rng(zlib.crc32(f"kernel {mode} {out.value}".encode()))
    op = rescale_op(mode, 3, rng, out)
    x = np.stack([random_case(rng, mode, 40)[0][-40:] for _ in range(2)])  # [2, 40], extremes
    x = np.stack([x, x[:, ::-1], x[::-1]], axis=1)                         # [2, 3, 40]
    got = rescale_reference(op, x)

    def along_axis(values, dtype):
        return np.asarray(values or (0,), dtype).reshape(-1, 1)

    lo, hi = op.bounds(3)
    want = integer.rescale(x, mode, scales=along_axis(op.scales, np.float64),
                           multipliers=along_axis(op.multipliers, np.int64),
                           shifts=along_axis(op.shifts, np.int64),
                           left_shifts=along_axis(op.left_shifts, np.int64),
                           zero_point=op.zero_point, out_min=lo[:, None], out_max=hi[:, None])
    np.testing.assert_array_equal(got, want)


def test_simulator_runs_rescale_as_the_reference():
    rng = np.random.default_rng(5)
    x = rng.integers(-2**20, 2**20, (2, 3, 5), dtype=np.int64).astype(np.int32)
    op = O.Rescale(name="r", mode="fixed-point32", axis=1, multipliers=(3, 1000, 77777),
                   shifts=(4, 12, 20), zero_point=2, out_min=(-100, 0, -128),
                   out_max=(100, 127, 50), dtype="i8")
    g = Graph("g")
    xin = g.add_input("x", TensorType(x.shape, DType.I32))
    g.outputs = [g.add(op, [xin], ["y"]).output]
    got = Simulator(g).run({"x": x})["y"]
    want = integer.rescale(x, "fixed-point32", multipliers=np.array([3, 1000, 77777])[:, None],
                           shifts=np.array([4, 12, 20])[:, None], zero_point=2,
                           out_min=np.array([-100, 0, -128])[:, None],
                           out_max=np.array([100, 127, 50])[:, None])
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, want.astype(np.int8))


def test_simulator_avg_pool_kernel_divides_as_the_reference():
    """The numba average-pool kernel restates divide_round_half_away inline."""
    rng = np.random.default_rng(6)
    x = rng.integers(-128, 128, (1, 2, 6, 6)).astype(np.int8)
    g = Graph("g")
    xin = g.add_input("x", TensorType(x.shape, DType.I8))
    pool = O.AvgPool2d(name="p", kernel=(3, 3), strides=(3, 3), pads=(0, 0, 0, 0))
    g.outputs = [g.add(pool, [xin], ["y"]).output]
    got = Simulator(g).run({"x": x})["y"]
    sums = x.astype(np.int64).reshape(1, 2, 2, 3, 2, 3).sum(axis=(3, 5))
    np.testing.assert_array_equal(got, integer.divide_round_half_away(sums, 9))
