"""quantize / dequantize / rescale (semantics: n2d2c/ir/ops/quant.py, arithmetic:
n2d2c/ir/integer.py).

``rescale`` runs a numba loop, an order of magnitude faster than the numpy
reference ``integer.rescale``: it restates that function element by element,
formula for formula, and tests/ir/test_integer.py checks that they agree.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ....ir import integer, ops
from ....ir.ops.quant import integer_dtype, per_channel
from ...registry import FLOAT, INTEGER, kernel
from .common import int64

MODE_CODES = {"floating-point": 0, "fixed-point16": 1, "fixed-point32": 1, "single-shift": 2,
              "double-shift": 3}
_INT64_MIN = np.int64(integer.INT64_MIN)
_INT64_MAX = np.int64(integer.INT64_MAX)
_TWO_63 = 2.0 ** 63


@kernel(ops.Quantize, dtypes=FLOAT)
def quantize(op: ops.Quantize, x):
    return integer.quantize(x, op.scale, op.zero_point, integer_dtype(op, op.dtype))


@kernel(ops.Dequantize, dtypes=INTEGER)
def dequantize(op: ops.Dequantize, q):
    return integer.dequantize(q, op.scale, op.zero_point)


_round_half_away = njit(cache=True)(integer.round_half_away_scalar)


@njit(cache=True)
def _rescale_float(x, out, scale, in_zp, zp, lo, hi):
    """One channel's row, floating-point mode."""
    for i in range(x.shape[0]):
        r = _round_half_away(np.float64(x[i] - in_zp) * scale) + np.float64(zp)
        if r >= _TWO_63:        # integer.float_to_int64
            y = _INT64_MAX
        elif r < -_TWO_63:
            y = _INT64_MIN
        else:
            y = np.int64(r)
        out[i] = min(max(y, lo), hi)


@njit(cache=True)
def _rescale_shifted(x, out, mode, mult, shift, lshift, in_zp, zp, lo, hi):
    """One channel's row, fixed-point (1), single-shift (2) or double-shift (3) mode: one
    loop per mode with the channel's constants hoisted, so that LLVM vectorises each."""
    n = x.shape[0]
    if mode == 1:
        for i in range(n):
            t = (np.int64(x[i]) - in_zp) * mult
            y = ((t >> shift) + ((t >> (shift - 1)) & 1) if shift > 0 else t) + zp
            out[i] = min(max(y, lo), hi)
    elif mode == 2:
        for i in range(n):
            t = np.int64(x[i]) - in_zp
            y = ((t >> shift) + ((t >> (shift - 1)) & 1) if shift > 0 else t) + zp
            out[i] = min(max(y, lo), hi)
    else:
        for i in range(n):
            v = np.int64(x[i]) - in_zp
            t = v + (v << lshift)
            y = ((t >> shift) + ((t >> (shift - 1)) & 1) if shift > 0 else t) + zp
            out[i] = min(max(y, lo), hi)


@njit(cache=True)
def _rescale(x, out, mode, scales, mults, shifts, lshifts, in_zp, zp, lo, hi):
    """``integer.rescale`` of x [outer, channels, inner] into out, element by element (the
    arithmetic in int64 whatever the input and output types, as the reference)."""
    outer, channels, _ = x.shape
    for o in range(outer):
        for c in range(channels):
            if mode == 0:
                _rescale_float(x[o, c], out[o, c], scales[c], in_zp, zp, lo[c], hi[c])
            else:
                _rescale_shifted(x[o, c], out[o, c], mode, mults[c], shifts[c], lshifts[c],
                                 in_zp, zp, lo[c], hi[c])


def rescale_reference(op: ops.Rescale, x: np.ndarray, out_dtype=None) -> np.ndarray:
    """Run ``op`` on ``x``; returns int64 (the kernel casts to ``op.dtype``).

    With ``out_dtype`` (the fast path) the loop reads ``x`` in its own integer type
    (the arithmetic is int64 either way) and writes the clamped results straight in
    ``out_dtype``, which must hold the op's bounds: no int64 copies."""
    x = np.asarray(x)
    shape = x.shape
    as_loop_input = int64 if out_dtype is None else np.ascontiguousarray
    if x.ndim == 0:
        x3 = as_loop_input(x).reshape(1, 1, 1)
        channels = 1
    else:
        axis = op.axis % x.ndim
        channels = shape[axis]
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        x3 = as_loop_input(x).reshape(outer, channels, -1)

    out = np.empty(x3.shape, np.int64 if out_dtype is None else out_dtype)
    _rescale(x3, out, *rescale_arguments(op, channels))
    return out.reshape(shape)


def rescale_arguments(op: ops.Rescale, channels: int) -> tuple:
    """The constant arguments of ``rescale_loop`` for ``op`` on ``channels`` channels:
    mode code, per-channel scales, multipliers, shifts, left shifts, the two zero
    points and the per-channel bounds."""
    def channel_values(values, dtype):
        return per_channel(values or (0,), channels, dtype)

    lo, hi = op.bounds(channels)
    return (MODE_CODES[op.mode], channel_values(op.scales, np.float64),
            channel_values(op.multipliers, np.int64), channel_values(op.shifts, np.int64),
            channel_values(op.left_shifts, np.int64), np.int64(op.input_zero_point),
            np.int64(op.zero_point), lo, hi)


#: The element loop: ``rescale_loop(x [outer, C, inner], out, *rescale_arguments(op, C))``.
rescale_loop = _rescale


@kernel(ops.Rescale, dtypes=INTEGER)
def rescale(op: ops.Rescale, x):
    return rescale_reference(op, x).astype(integer_dtype(op, op.dtype).numpy)
