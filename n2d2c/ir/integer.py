"""The exact integer arithmetic of the quantized IR, written once.

``n2d2c/ir/ops/quant.py`` states the semantics in words; these functions are
that statement in numpy, and what computes it uses them: the simulator's
integer kernels, the quantizer (weight, bias and bound levels), the ONNX
exporter (bounds; its ONNX spelling of the same formulas names the function it
mirrors) and resize's nearest-index rounding.  Kept numpy-only, as the IR layer
does not import numba: a numba kernel that needs one of these inline restates
it and is tested against it (tests/ir/test_integer.py).

Every function is exact: no result depends on float rounding beyond what the
spec itself prescribes (``(double)v * scale``).
"""

from __future__ import annotations

import math

import numpy as np

from .types import DType

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

RESCALE_MODES = ("floating-point", "fixed-point16", "fixed-point32", "single-shift",
                 "double-shift")


# -- rounding ---------------------------------------------------------------------------------
def round_half_away(t) -> np.ndarray:
    """Nearest integer of float64 ``t``, ties away from zero (C ``round``), as float64.

    ``t - trunc(t)`` has no rounding error, so there is no ``0.49999999999999994
    + 0.5`` pitfall; NaN stays NaN and infinities stay infinite."""
    t = np.asarray(t, dtype=np.float64)
    r = np.trunc(t)
    with np.errstate(invalid="ignore"):
        d = t - r
        return r + (d >= 0.5) - (d <= -0.5)


def round_half_away_scalar(t: float) -> float:
    """``round_half_away`` of one float, as a float.  Plain scalar arithmetic, so that
    numba compiles it as it is (the simulator's rescale kernel does)."""
    r = np.trunc(t)
    d = t - r
    if d >= 0.5:
        r += 1.0
    elif d <= -0.5:
        r -= 1.0
    return r


def round_half_away_int(x: float) -> int:
    """``round_half_away`` of one finite float, as a Python int."""
    return int(round_half_away_scalar(x))


def divide_round_half_away(total, count) -> np.ndarray:
    """``total / count`` rounded half away from zero, in int64 arithmetic: the
    integer average pooling of the IR (``count`` > 0)."""
    total = np.asarray(total, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    magnitude = (2 * np.abs(total) + count) // (2 * count)
    return np.where(total < 0, -magnitude, magnitude)


def shift_round_half_up(t, shift) -> np.ndarray:
    """``(t + half(s)) >> s`` of the spec (ties toward +infinity; ``half(0) = 0``).

    Written as ``(t >> s) + bit s-1 of t``, which is the same number but cannot
    overflow where ``t + half`` would (``t`` near the int64 maximum)."""
    t = np.asarray(t, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    below = np.maximum(s - 1, 0)
    return np.where(s > 0, (t >> s) + ((t >> below) & 1), t)


# -- saturation -------------------------------------------------------------------------------
#: Fraction bits of the integer weights of a linear resize (per resized axis).
RESIZE_WEIGHT_BITS = 7


def resize_weights(frac) -> tuple[np.ndarray, np.ndarray]:
    """Integer weights (of the lower, of the upper source index) of a linear resize
    along one axis, from the float weight ``frac`` of the upper index: ``w_hi =
    round_half_away(frac * 2**RESIZE_WEIGHT_BITS)``, ``w_lo = 2**RESIZE_WEIGHT_BITS -
    w_hi``, so a constant input stays exactly constant."""
    one = 1 << RESIZE_WEIGHT_BITS
    hi = round_half_away(np.asarray(frac, np.float64) * one).astype(np.int64)
    return one - hi, hi


def dtype_bounds(dtype: DType | np.dtype | type) -> tuple[int, int]:
    """(min, max) of an integer element type (an IR ``DType`` or a numpy dtype)."""
    info = np.iinfo(dtype.numpy if isinstance(dtype, DType) else dtype)
    return int(info.min), int(info.max)


def saturate(values, dtype: DType | np.dtype | type) -> np.ndarray:
    """Integral ``values`` (integers, or floats without NaN) clamped to ``dtype``'s
    range and stored as ``dtype``."""
    lo, hi = dtype_bounds(dtype)
    values = np.asarray(values)
    if values.dtype.kind == "f":  # clamp as int64: float(int64 max) is out of range
        values = float_to_int64(values)
    numpy_dtype = dtype.numpy if isinstance(dtype, DType) else np.dtype(dtype)
    return np.clip(values, lo, hi).astype(numpy_dtype)


def saturated_bounds(lo: float, hi: float, dtype: DType | np.dtype | type) -> tuple[int, int]:
    """Integer clamp bounds ``ceil(lo)``, ``floor(hi)`` saturated to ``dtype``'s range
    (the integer ``clip`` of the IR)."""
    dmin, dmax = dtype_bounds(dtype)
    low = dmin if lo == -math.inf else max(dmin, min(dmax, math.ceil(lo)))
    high = dmax if hi == math.inf else min(dmax, max(dmin, math.floor(hi)))
    return int(low), int(high)


def float_to_int64(t) -> np.ndarray:
    """Integral float64 ``t`` as int64, saturating outside the int64 range (a plain
    cast is undefined there)."""
    t = np.asarray(t, dtype=np.float64)
    above = t >= 2.0 ** 63
    below = t < -2.0 ** 63
    inside = np.where(above | below, 0.0, t).astype(np.int64)
    return np.where(above, np.int64(INT64_MAX), np.where(below, np.int64(INT64_MIN), inside))


# -- quantize / dequantize / rescale ----------------------------------------------------------
def quantize(x, scale: float, zero_point: int, dtype: DType) -> np.ndarray:
    """``clamp(round_half_away((double)x / scale) + zero_point)`` stored as ``dtype``;
    NaN gives ``zero_point``, infinities saturate."""
    lo, hi = dtype_bounds(dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = round_half_away(np.asarray(x, np.float64) / np.float64(scale)) + zero_point
        q = np.where(np.isnan(q), float(zero_point), q)
    return np.clip(q, lo, hi).astype(dtype.numpy)


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """``(float)((double)(q - zero_point) * scale)``."""
    centered = np.asarray(q, np.int64) - np.int64(zero_point)
    return (centered.astype(np.float64) * np.float64(scale)).astype(np.float32)


def rescale(x, mode: str, *, scales=0.0, multipliers=0, shifts=0, left_shifts=0,
            input_zero_point: int = 0, zero_point: int = 0, out_min, out_max) -> np.ndarray:
    """The ``rescale`` op's arithmetic (int64 result, before the cast to its dtype).

    The per-channel parameters (``scales`` ... ``out_max``) are arrays that
    broadcast against ``x`` (one entry per channel along the op's axis, shaped
    for it by the caller).  Exact wherever the spec's int64 intermediates fit
    (the quantizer checks that they do)."""
    v = np.asarray(x, dtype=np.int64) - np.int64(input_zero_point)
    if mode == "floating-point":
        t = round_half_away(v.astype(np.float64) * np.asarray(scales, np.float64))
        y = float_to_int64(t + np.float64(zero_point))  # r stays a double until the clamp
    else:
        if mode in ("fixed-point16", "fixed-point32"):
            t = v * np.asarray(multipliers, np.int64)
        elif mode == "single-shift":
            t = v
        elif mode == "double-shift":
            t = v + (v << np.asarray(left_shifts, np.int64))
        else:
            raise ValueError(f"rescale mode {mode!r} is not one of {list(RESCALE_MODES)}")
        y = shift_round_half_up(t, shifts) + np.int64(zero_point)
    return np.minimum(np.maximum(y, np.asarray(out_min, np.int64)), np.asarray(out_max, np.int64))
