"""Pooling: windowed max/average (numba) and global pooling (numpy).

Window semantics follow ONNX: window (oh, ow) starts at ``oh*stride - pad_begin``
and samples ``kernel`` cells ``dilation`` apart.  Cells outside the input never
contribute to a max or a sum.  The average's divisor counts either the cells
inside the input (``count_include_pad = false``) or the cells inside the
*padded* input (``true``) -- so with ``ceil_mode`` the part of the last window
that hangs past the end padding is never counted, as in onnxruntime.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...ir import ops
from ..registry import kernel
from ._util import f32


@njit(cache=True, parallel=True, fastmath=False)
def _max_pool2d(x, out, kh_size, kw_size, sh, sw, pt, pl, dh, dw):
    n_batch, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for task in prange(n_batch * channels):
        n = task // channels
        c = task % channels
        for oh in range(out_h):
            h0 = oh * sh - pt
            for ow in range(out_w):
                w0 = ow * sw - pl
                best = -np.inf
                for kh in range(kh_size):
                    ih = h0 + kh * dh
                    if ih < 0 or ih >= height:
                        continue
                    for kw in range(kw_size):
                        iw = w0 + kw * dw
                        if iw < 0 or iw >= width:
                            continue
                        v = x[n, c, ih, iw]
                        if v > best or np.isnan(v):
                            best = v
                out[n, c, oh, ow] = best


@njit(cache=True)
def window_sum(x, n, c, h0, w0, kh_size, kw_size, dh, dw, pt, pl, pb, pr, zero):
    """Sum of the input cells of one average-pooling window starting at (h0, w0), with
    the number of cells inside the input and inside the padded input.  ``zero`` picks
    the accumulator: 0.0 (float64) for float tensors, np.int64(0) (exact) for integers;
    the float and the integer kernels share this so their windows cannot drift apart."""
    height, width = x.shape[2], x.shape[3]
    total = zero
    inside = 0
    padded = 0
    for kh in range(kh_size):
        ih = h0 + kh * dh
        if ih < -pt or ih >= height + pb:
            continue
        row_inside = 0 <= ih < height
        for kw in range(kw_size):
            iw = w0 + kw * dw
            if iw < -pl or iw >= width + pr:
                continue
            padded += 1
            if row_inside and 0 <= iw < width:
                inside += 1
                total += x[n, c, ih, iw]
    return total, inside, padded


@njit(cache=True, parallel=True, fastmath=False)
def _avg_pool2d(x, out, kh_size, kw_size, sh, sw, pt, pl, pb, pr, dh, dw, include_pad):
    n_batch, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for task in prange(n_batch * channels):
        n = task // channels
        c = task % channels
        for oh in range(out_h):
            h0 = oh * sh - pt
            for ow in range(out_w):
                w0 = ow * sw - pl
                total, inside, padded = window_sum(x, n, c, h0, w0, kh_size, kw_size, dh, dw,
                                                   pt, pl, pb, pr, 0.0)
                count = padded if include_pad else inside
                if count > 0:
                    out[n, c, oh, ow] = np.float32(total / count)
                else:
                    out[n, c, oh, ow] = np.float32(0.0)


def _window_args(op):
    kh, kw = op.kernel
    sh, sw = op.strides
    dh, dw = op.dilations
    return int(kh), int(kw), int(sh), int(sw), int(op.pads[0]), int(op.pads[1]), int(dh), int(dw)


@kernel(ops.MaxPool2d)
def max_pool2d(op: ops.MaxPool2d, x):
    out = np.empty(op.outputs[0].type.shape, np.float32)
    _max_pool2d(f32(x), out, *_window_args(op))
    return out


@kernel(ops.AvgPool2d)
def avg_pool2d(op: ops.AvgPool2d, x):
    out = np.empty(op.outputs[0].type.shape, np.float32)
    kh, kw, sh, sw, pt, pl, dh, dw = _window_args(op)
    _avg_pool2d(f32(x), out, kh, kw, sh, sw, pt, pl, int(op.pads[2]), int(op.pads[3]), dh, dw,
                bool(op.count_include_pad))
    return out


@kernel(ops.GlobalAvgPool)
def global_avg_pool(op, x):
    axes = tuple(range(2, x.ndim))
    return x.mean(axis=axes, keepdims=True, dtype=np.float64)


@kernel(ops.GlobalMaxPool)
def global_max_pool(op, x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)
