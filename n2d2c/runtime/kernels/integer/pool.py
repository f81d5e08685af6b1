"""Integer pooling: window max, window average rounded half away from zero, and
their global forms (semantics: n2d2c/ir/ops/quant.py)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ....ir import ops
from ....ir.integer import divide_round_half_away
from ...registry import INTEGER, kernel
from ..pool import window_max, window_sum
from .common import int64


@njit(cache=True)
def _qmax_pool2d(x, out, kh_size, kw_size, sh, sw, pt, pl, dh, dw, lowest):
    n_batch, channels = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for n in range(n_batch):
        for c in range(channels):
            for oh in range(out_h):
                h0 = oh * sh - pt
                for ow in range(out_w):
                    w0 = ow * sw - pl
                    out[n, c, oh, ow] = window_max(x, n, c, h0, w0, kh_size, kw_size, dh, dw,
                                                   lowest)[0]


@njit(cache=True)
def _qavg_pool2d(x, out, kh_size, kw_size, sh, sw, pt, pl, pb, pr, dh, dw, include_pad):
    n_batch, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for n in range(n_batch):
        for c in range(channels):
            for oh in range(out_h):
                h0 = oh * sh - pt
                for ow in range(out_w):
                    w0 = ow * sw - pl
                    total, inside, padded = window_sum(x, n, c, h0, w0, kh_size, kw_size, dh,
                                                       dw, pt, pl, pb, pr, np.int64(0))
                    count = padded if include_pad else inside
                    if count <= 0:
                        out[n, c, oh, ow] = 0
                        continue
                    magnitude = (2 * abs(total) + count) // (2 * count)
                    out[n, c, oh, ow] = -magnitude if total < 0 else magnitude


def _window_args(op):
    return (int(op.kernel[0]), int(op.kernel[1]), int(op.strides[0]), int(op.strides[1]),
            int(op.pads[0]), int(op.pads[1]))


@kernel(ops.MaxPool2d, dtypes=INTEGER)
def qmax_pool2d(op: ops.MaxPool2d, x):
    out = np.empty(op.outputs[0].type.shape, np.int64)
    lowest = np.int64(np.iinfo(x.dtype).min)
    _qmax_pool2d(int64(x), out, *_window_args(op), int(op.dilations[0]), int(op.dilations[1]),
                 lowest)
    return out


@kernel(ops.AvgPool2d, dtypes=INTEGER)
def qavg_pool2d(op: ops.AvgPool2d, x):
    out = np.empty(op.outputs[0].type.shape, np.int64)
    _qavg_pool2d(int64(x), out, *_window_args(op), int(op.pads[2]), int(op.pads[3]),
                 int(op.dilations[0]), int(op.dilations[1]), bool(op.count_include_pad))
    return out


@kernel(ops.GlobalAvgPool, dtypes=INTEGER)
def qglobal_avg_pool(op, x):
    axes = tuple(range(2, x.ndim))
    count = int(np.prod(x.shape[2:], dtype=np.int64))
    total = np.asarray(x, np.int64).sum(axis=axes, keepdims=True)
    return divide_round_half_away(total, count)


@kernel(ops.GlobalMaxPool, dtypes=INTEGER)
def qglobal_max_pool(op, x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)
