"""Pooling: windowed max/average (numba) and global pooling (numpy).

Window semantics follow ONNX: window (oh, ow) starts at ``oh*stride - pad_begin``
and samples ``kernel`` cells ``dilation`` apart.  Cells outside the input never
contribute to a max or a sum.  The average's divisor counts either the cells
inside the input (``count_include_pad = false``) or the cells inside the
*padded* input (``true``) -- so with ``ceil_mode`` the part of the last window
that hangs past the end padding is never counted, as in onnxruntime.

Max pooling with indices keeps the first maximum of a window in row-major window
order (onnxruntime and N2D2 do the same on ties); a NaN wins as in the plain max
pool, and the index is the first NaN's.  Unpooling scatters into zeros and
refuses an index outside the output.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...errors import InputError
from ...ir import ops
from ..registry import kernel
from ._util import f32


@njit(cache=True, fastmath=False)
def window_max(x, n, c, h0, w0, kh_size, kw_size, dh, dw, empty):
    """The largest input cell of one max-pooling window starting at (h0, w0) and its
    row-major position ``ih * width + iw``; (``empty``, -1) for a window without input
    cells.  The first maximum wins a tie and a NaN wins over numbers (``v != v`` is the
    NaN test that also compiles for integers).  The float and the integer kernels share
    this, so their windows cannot drift apart."""
    height, width = x.shape[2], x.shape[3]
    best = empty
    found = -1
    for kh in range(kh_size):
        ih = h0 + kh * dh
        if ih < 0 or ih >= height:
            continue
        for kw in range(kw_size):
            iw = w0 + kw * dw
            if iw < 0 or iw >= width:
                continue
            v = x[n, c, ih, iw]
            if found < 0 or v > best or (v != v and best == best):
                best = v
                found = ih * width + iw
    return best, found


@njit(cache=True, parallel=True, fastmath=False)
def _max_pool2d_indices(x, out, where, kh_size, kw_size, sh, sw, pt, pl, dh, dw, column_major):
    n_batch, channels, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for task in prange(n_batch * channels):
        n = task // channels
        c = task % channels
        base = task * height * width
        for oh in range(out_h):
            h0 = oh * sh - pt
            for ow in range(out_w):
                w0 = ow * sw - pl
                best, found = window_max(x, n, c, h0, w0, kh_size, kw_size, dh, dw, -np.inf)
                out[n, c, oh, ow] = best
                if found < 0:
                    # A window with no input cell (all padding, or dilated past the input)
                    # has no position: -1, which max_unpool2d refuses.
                    where[n, c, oh, ow] = -1
                elif column_major:
                    where[n, c, oh, ow] = base + (found % width) * height + found // width
                else:
                    where[n, c, oh, ow] = base + found


@njit(cache=True)
def _scatter(x, indices, out, accumulate):
    """out[indices[i]] = x[i] in order (or +=); returns the first bad position or -1."""
    size = out.size
    for i in range(x.size):
        j = indices[i]
        if j < 0 or j >= size:
            return i
        if accumulate:
            out[j] += x[i]
        else:
            out[j] = x[i]
    return -1


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
    # The positions are computed and dropped: one window loop serves both ops, so their
    # values (NaN included) cannot drift apart.
    out = np.empty(op.outputs[0].type.shape, np.float32)
    where = np.empty(out.shape, np.int64)
    _max_pool2d_indices(f32(x), out, where, *_window_args(op), False)
    return out


@kernel(ops.MaxPool2dWithIndices)
def max_pool2d_with_indices(op: ops.MaxPool2dWithIndices, x):
    out = np.empty(op.outputs[0].type.shape, np.float32)
    where = np.empty(op.outputs[1].type.shape, np.int64)
    _max_pool2d_indices(f32(x), out, where, *_window_args(op), op.storage_order == 1)
    return out, where


@kernel(ops.MaxUnpool2d)
def max_unpool2d(op: ops.MaxUnpool2d, x, indices):
    # Sums of duplicates are formed in float64, like every other sum of the simulator.
    out = np.zeros(op.outputs[0].type.size, np.float64 if op.accumulate else np.float32)
    flat = np.ascontiguousarray(indices, dtype=np.int64).reshape(-1)
    bad = _scatter(f32(x).reshape(-1), flat, out, bool(op.accumulate))
    if bad >= 0:
        raise InputError(f"{op.label}: index {int(flat[bad])} (at flat position {bad} of the "
                         f"indices) is outside the output {op.outputs[0].type}, whose flat "
                         f"indices are 0..{out.size - 1}", location=op.name or None)
    return out.reshape(op.outputs[0].type.shape).astype(np.float32, copy=False)


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
