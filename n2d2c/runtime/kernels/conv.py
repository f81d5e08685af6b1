"""Convolutions: direct Conv2d and ConvTranspose2d, compiled with numba.

A fused activation (``activation`` attribute) is applied to the float32 result.
Both kernels parallelise over (batch, output channel) planes and accumulate
each plane in float64.  The innermost loop runs over a contiguous range of
output columns whose input column is known to be inside the image, so it has
no bounds test (padding is handled by narrowing the range, never by copying
the input into a padded buffer) and LLVM vectorises it.  Loop order per plane:
input channel, kernel row, kernel column, output row, output column -- so the
float64 accumulator plane stays in cache while each weight is loaded once.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...ir import ops
from ..registry import kernel
from ._util import apply_activation, f32


@njit(cache=True)
def _valid_range(offset, stride, length, limit):
    """[lo, hi) of positions p in [0, length) with 0 <= p*stride + offset < limit."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    last = limit - 1 - offset
    hi = 0 if last < 0 else min(length, last // stride + 1)
    return lo, max(lo, hi)


@njit(cache=True, parallel=True, fastmath=False)
def _conv2d(x, w, b, out, sh, sw, pt, pl, dh, dw, group):
    n_batch, _, height, width = x.shape
    m_out, c_per_group, kh_size, kw_size = w.shape
    out_h, out_w = out.shape[2], out.shape[3]
    m_per_group = m_out // group
    for task in prange(n_batch * m_out):
        n = task // m_out
        m = task % m_out
        g = m // m_per_group
        acc = np.zeros((out_h, out_w), np.float64)
        for cc in range(c_per_group):
            plane = x[n, g * c_per_group + cc]
            for kh in range(kh_size):
                off_h = kh * dh - pt
                oh_lo, oh_hi = _valid_range(off_h, sh, out_h, height)
                for kw in range(kw_size):
                    off_w = kw * dw - pl
                    ow_lo, ow_hi = _valid_range(off_w, sw, out_w, width)
                    count = ow_hi - ow_lo
                    first = ow_lo * sw + off_w
                    wv = np.float64(w[m, cc, kh, kw])
                    if sh == 1 and sw == 1 and off_w == 0 and width == out_w:
                        # Whole rows line up (pointwise convs, centre taps): one
                        # long loop over the block of rows.
                        start = (oh_lo + off_h) * width
                        src = plane.reshape(height * width)[start:]
                        dst = acc.reshape(out_h * out_w)[oh_lo * out_w:]
                        for i in range((oh_hi - oh_lo) * out_w):
                            dst[i] += wv * src[i]
                        continue
                    for oh in range(oh_lo, oh_hi):
                        # Slices indexed from 0 let LLVM drop numba's negative-index
                        # wraparound and vectorise the loop.
                        src = plane[oh * sh + off_h, first:]
                        dst = acc[oh, ow_lo:ow_hi]
                        if sw == 1:
                            for i in range(count):
                                dst[i] += wv * src[i]
                        else:
                            for i in range(count):
                                dst[i] += wv * src[i * sw]
        bias = np.float64(b[m])
        dst = out[n, m]
        for oh in range(out_h):
            for ow in range(out_w):
                dst[oh, ow] = np.float32(acc[oh, ow] + bias)


@njit(cache=True, parallel=True, fastmath=False)
def _conv_transpose2d(x, w, b, out, sh, sw, pt, pl, dh, dw, group):
    n_batch, c_in, height, width = x.shape
    _, m_per_group, kh_size, kw_size = w.shape
    m_out, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    c_per_group = c_in // group
    for task in prange(n_batch * m_out):
        n = task // m_out
        m = task % m_out
        g = m // m_per_group
        mm = m % m_per_group
        acc = np.zeros((out_h, out_w), np.float64)
        for cc in range(c_per_group):
            c = g * c_per_group + cc
            plane = x[n, c]
            for kh in range(kh_size):
                # Input rows ih whose output row ih*sh + off_h falls inside the output.
                off_h = kh * dh - pt
                ih_lo, ih_hi = _valid_range(off_h, sh, height, out_h)
                for kw in range(kw_size):
                    off_w = kw * dw - pl
                    iw_lo, iw_hi = _valid_range(off_w, sw, width, out_w)
                    count = iw_hi - iw_lo
                    first = iw_lo * sw + off_w
                    wv = np.float64(w[c, mm, kh, kw])
                    for ih in range(ih_lo, ih_hi):
                        src = plane[ih, iw_lo:iw_hi]
                        dst = acc[ih * sh + off_h, first:]
                        if sw == 1:
                            for i in range(count):
                                dst[i] += wv * src[i]
                        else:
                            for i in range(count):
                                dst[i * sw] += wv * src[i]
        bias = np.float64(b[m])
        dst = out[n, m]
        for oh in range(out_h):
            for ow in range(out_w):
                dst[oh, ow] = np.float32(acc[oh, ow] + bias)


def _bias(b, channels: int) -> np.ndarray:
    return np.zeros(channels, np.float32) if b is None else f32(b)


@kernel(ops.Conv2d, fused_activation=True)
def conv2d(op: ops.Conv2d, x, w, b=None):
    out_shape = op.outputs[0].type.shape
    out = np.empty(out_shape, np.float32)
    sh, sw = op.strides
    pt, pl = op.pads[0], op.pads[1]
    dh, dw = op.dilations
    _conv2d(f32(x), f32(w), _bias(b, w.shape[0]), out, int(sh), int(sw), int(pt), int(pl),
            int(dh), int(dw), int(op.group))
    return apply_activation(op, out)


@kernel(ops.ConvTranspose2d, fused_activation=True)
def conv_transpose2d(op: ops.ConvTranspose2d, x, w, b=None):
    out_shape = op.outputs[0].type.shape
    out = np.empty(out_shape, np.float32)
    sh, sw = op.strides
    pt, pl = op.pads[0], op.pads[1]
    dh, dw = op.dilations
    _conv_transpose2d(f32(x), f32(w), _bias(b, out_shape[1]), out, int(sh), int(sw), int(pt),
                      int(pl), int(dh), int(dw), int(op.group))
    return apply_activation(op, out)
