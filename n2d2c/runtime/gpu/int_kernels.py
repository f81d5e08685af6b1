"""Integer kernels of the array-module simulator (see __init__.py): the arithmetic of
n2d2c/ir/integer.py and n2d2c/ir/ops/quant.py restated on arrays, exact in int64
(bit-exact with the CPU simulator; tests/runtime_gpu checks it)."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ...ir.integer import INT64_MAX, INT64_MIN, dtype_bounds, saturated_bounds
from ...ir.ops.quant import integer_dtype, per_channel
from ..registry import FLOAT, INTEGER
from . import array_kernel
from .windows import im2col, padded, window_args, windows
from .float_kernels import transposed_conv, window_counts


def _i64(xp, x):
    return xp.asarray(x, dtype=xp.int64)


def round_half_away(xp, t):
    r = xp.trunc(t)
    d = t - r
    return r + (d >= 0.5) - (d <= -0.5)


def float_to_int64(xp, t):
    above, below = t >= 2.0 ** 63, t < -(2.0 ** 63)
    inside = xp.where(above | below, 0.0, t).astype(xp.int64)
    return xp.where(above, xp.int64(INT64_MAX), xp.where(below, xp.int64(INT64_MIN), inside))


def divide_round_half_away(xp, total, count):
    magnitude = (2 * xp.abs(total) + count) // (2 * count)
    return xp.where(total < 0, -magnitude, magnitude)


def shift_round_half_up(xp, t, s):
    below = xp.maximum(s - 1, 0)
    return xp.where(s > 0, (t >> s) + ((t >> below) & 1), t)


@array_kernel(ops.Quantize, dtypes=FLOAT)
def quantize(xp, op, x):
    dtype = integer_dtype(op, op.dtype)
    lo, hi = dtype_bounds(dtype)
    q = round_half_away(xp, xp.asarray(x, xp.float64) / xp.float64(op.scale)) + op.zero_point
    q = xp.where(xp.isnan(q), float(op.zero_point), q)
    return xp.clip(q, lo, hi).astype(dtype.numpy)


@array_kernel(ops.Dequantize, dtypes=INTEGER)
def dequantize(xp, op, q):
    centered = _i64(xp, q) - xp.int64(op.zero_point)
    return (centered.astype(xp.float64) * xp.float64(op.scale)).astype(xp.float32)


@array_kernel(ops.Rescale, dtypes=INTEGER)
def rescale(xp, op, x):
    shape = x.shape
    channels = 1 if x.ndim == 0 else shape[op.axis % x.ndim]
    axis = 0 if x.ndim == 0 else op.axis % x.ndim
    bshape = [1] * max(x.ndim, 1)
    bshape[axis] = channels

    def per(values, dtype):
        return xp.asarray(per_channel(values or (0,), channels, dtype).reshape(bshape))

    v = _i64(xp, x).reshape(bshape if x.ndim == 0 else shape) - xp.int64(op.input_zero_point)
    if op.mode == "floating-point":
        t = round_half_away(xp, v.astype(xp.float64) * per(op.scales, np.float64))
        y = float_to_int64(xp, t + xp.float64(op.zero_point))
    else:
        if op.mode in ("fixed-point16", "fixed-point32"):
            t = v * per(op.multipliers, np.int64)
        elif op.mode == "single-shift":
            t = v
        else:  # double-shift
            t = v + (v << per(op.left_shifts, np.int64))
        y = shift_round_half_up(xp, t, per(op.shifts, np.int64)) + xp.int64(op.zero_point)
    lo, hi = op.bounds(channels)
    y = xp.minimum(xp.maximum(y, xp.asarray(lo.reshape(bshape))), xp.asarray(hi.reshape(bshape)))
    return y.reshape(shape).astype(integer_dtype(op, op.dtype).numpy)


@array_kernel(ops.Conv2d, dtypes=INTEGER)
def qconv2d(xp, op, x, w, b=None):
    n, m, oh, ow = op.outputs[0].type.shape
    kernel = tuple(int(k) for k in w.shape[2:])
    g = int(op.group)
    cols = im2col(xp, op, _i64(xp, x), kernel, (oh, ow))
    weights = _i64(xp, w).reshape(g, m // g, -1).transpose(0, 2, 1)
    y = xp.matmul(cols, weights).transpose(0, 1, 3, 2).reshape(n, m, oh, ow)
    if b is not None:
        y = y + _i64(xp, b).reshape(1, m, 1, 1)
    return y


@array_kernel(ops.ConvTranspose2d, dtypes=INTEGER)
def qconv_transpose2d(xp, op, x, w, b=None):
    return transposed_conv(xp, op, x, w, b, xp.int64)


@array_kernel(ops.Gemm, dtypes=INTEGER)
def qgemm(xp, op, a, b, c=None):
    a, b = op.effective_operands(_i64(xp, a), _i64(xp, b))
    y = xp.matmul(a, b)
    return y if c is None else y + _i64(xp, c)


@array_kernel(ops.MatMul, dtypes=INTEGER)
def qmatmul(xp, op, a, b):
    return xp.matmul(_i64(xp, a), _i64(xp, b))


EXACT = {ops.Add: "add", ops.Sub: "subtract", ops.Mul: "multiply"}


@array_kernel(*EXACT, dtypes=INTEGER)
def qaccumulate(xp, op, a, b):
    return getattr(xp, EXACT[type(op)])(_i64(xp, a), _i64(xp, b))


@array_kernel(ops.Relu, dtypes=INTEGER)
def qrelu(xp, op, x):
    return xp.maximum(x, x.dtype.type(0))


@array_kernel(ops.Clip, dtypes=INTEGER)
def qclip(xp, op, x):
    lo, hi = saturated_bounds(op.min, op.max, np.dtype(x.dtype))
    if lo > hi:
        return xp.full_like(x, hi)
    return xp.clip(x, lo, hi).astype(x.dtype)


@array_kernel(ops.Max, ops.Min, dtypes=INTEGER)
def qextreme(xp, op, a, b):
    return (xp.maximum if isinstance(op, ops.Max) else xp.minimum)(a, b)


@array_kernel(ops.MaxPool2d, dtypes=INTEGER)
def qmax_pool2d(xp, op, x):
    kernel, strides, dilations = window_args(op)
    out_hw = op.outputs[0].type.shape[2:]
    lowest = int(np.iinfo(np.dtype(x.dtype)).min)
    xpad = padded(xp, _i64(xp, x), out_hw, kernel, strides, dilations, op.pads, lowest)
    return windows(xp, xpad, out_hw, kernel, strides, dilations).max(axis=(4, 5))


@array_kernel(ops.AvgPool2d, dtypes=INTEGER)
def qavg_pool2d(xp, op, x):
    kernel, strides, dilations = window_args(op)
    out_hw = op.outputs[0].type.shape[2:]
    xpad = padded(xp, _i64(xp, x), out_hw, kernel, strides, dilations, op.pads, 0)
    total = windows(xp, xpad, out_hw, kernel, strides, dilations).sum(axis=(4, 5))
    count = window_counts(xp, op, x.shape, out_hw, kernel, strides, dilations).astype(xp.int64)
    return xp.where(count > 0, divide_round_half_away(xp, total, xp.maximum(count, 1)), 0)


@array_kernel(ops.GlobalAvgPool, dtypes=INTEGER)
def qglobal_avg_pool(xp, op, x):
    count = int(np.prod(x.shape[2:], dtype=np.int64))
    total = _i64(xp, x).sum(axis=tuple(range(2, x.ndim)), keepdims=True)
    return divide_round_half_away(xp, total, count)


@array_kernel(ops.GlobalMaxPool, dtypes=INTEGER)
def qglobal_max_pool(xp, op, x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


@array_kernel(ops.Lookup, dtypes=ops.LOOKUP_INPUTS)
def lookup(xp, op, x, table):
    return xp.asarray(table)[_i64(xp, x) + xp.int64(op.offset())]


@array_kernel(ops.IntSoftmax, dtypes=ops.LOOKUP_INPUTS)
def int_softmax(xp, op, x, table):
    # Per row: m = max(q), e = table[m - q], the int32-bounded sum, then the rounded
    # int64 division or one float32 division (ir/ops/int_softmax.py).
    axis = op.row_axis()
    q = _i64(xp, x)
    e = xp.asarray(table, dtype=xp.int64)[q.max(axis=axis, keepdims=True) - q]
    total = xp.maximum(e.sum(axis=axis, keepdims=True), 1)
    if op.dtype == "f32":
        return e.astype(xp.float32) / total.astype(xp.float32)
    den = total * 2
    return (xp.int64(2 * op.levels) * e + den // 2) // den
