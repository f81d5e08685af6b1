"""quantize / dequantize / rescale (semantics: n2d2c/ir/ops/quant.py)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ....ir import ops
from ....ir.ops.quant import dtype_bounds, integer_dtype, per_channel
from ...registry import FLOAT, INTEGER, kernel
from .common import int64, round_half_away

MODE_CODES = {"floating-point": 0, "fixed-point16": 1, "fixed-point32": 1, "single-shift": 2,
              "double-shift": 3}


@kernel(ops.Quantize, dtypes=FLOAT)
def quantize(op: ops.Quantize, x):
    dtype = integer_dtype(op, op.dtype)
    lo, hi = dtype_bounds(dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = round_half_away(np.asarray(x, np.float64) / np.float64(op.scale))
        q = q + op.zero_point
        q = np.where(np.isnan(q), float(op.zero_point), q)
    return np.clip(q, lo, hi).astype(dtype.numpy)


@kernel(ops.Dequantize, dtypes=INTEGER)
def dequantize(op: ops.Dequantize, q):
    centered = np.asarray(q, np.int64) - op.zero_point
    return (centered.astype(np.float64) * np.float64(op.scale)).astype(np.float32)


@njit(cache=True)
def _round_half_away(t):
    r = np.trunc(t)
    d = t - r
    if d >= 0.5:
        r += 1.0
    elif d <= -0.5:
        r -= 1.0
    return r


@njit(cache=True)
def _rescale(x, out, mode, scales, mults, shifts, lshifts, in_zp, zp, lo, hi):
    outer, channels, inner = x.shape
    for o in range(outer):
        for c in range(channels):
            scale = scales[c]
            mult = mults[c]
            shift = shifts[c]
            left = lshifts[c]
            half = np.int64(0)
            if shift > 0:
                half = np.int64(1) << (shift - 1)
            low = lo[c]
            high = hi[c]
            for i in range(inner):
                v = x[o, c, i] - in_zp
                if mode == 0:
                    y = _round_half_away(np.float64(v) * scale) + np.float64(zp)
                    if y < np.float64(low):
                        y = np.float64(low)
                    elif y > np.float64(high):
                        y = np.float64(high)
                    out[o, c, i] = np.int64(y)
                    continue
                if mode == 1:
                    r = (v * mult + half) >> shift
                elif mode == 2:
                    r = (v + half) >> shift
                else:
                    r = (v + (v << left) + half) >> shift
                y = r + zp
                if y < low:
                    y = low
                elif y > high:
                    y = high
                out[o, c, i] = y


def rescale_reference(op: ops.Rescale, x: np.ndarray) -> np.ndarray:
    """Run ``op`` on ``x``; returns int64 (the kernel casts to ``op.dtype``)."""
    x = np.asarray(x)
    shape = x.shape
    if x.ndim == 0:
        x3 = int64(x).reshape(1, 1, 1)
        channels = 1
    else:
        axis = op.axis % x.ndim
        channels = shape[axis]
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        x3 = int64(x).reshape(outer, channels, -1)
    count = channels
    zeros_f = np.zeros(count, np.float64)
    zeros_i = np.zeros(count, np.int64)
    scales = per_channel(op.scales, count, np.float64) if op.scales else zeros_f
    mults = per_channel(op.multipliers, count, np.int64) if op.multipliers else zeros_i
    shifts = per_channel(op.shifts, count, np.int64) if op.shifts else zeros_i
    lshifts = per_channel(op.left_shifts, count, np.int64) if op.left_shifts else zeros_i
    lo, hi = op.bounds(count)
    out = np.empty_like(x3)
    _rescale(x3, out, MODE_CODES[op.mode], scales, mults, shifts, lshifts,
             np.int64(op.input_zero_point), np.int64(op.zero_point), lo, hi)
    return out.reshape(shape)


@kernel(ops.Rescale, dtypes=INTEGER)
def rescale(op: ops.Rescale, x):
    return rescale_reference(op, x).astype(integer_dtype(op, op.dtype).numpy)
