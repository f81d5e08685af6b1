"""Depthwise convolution (one input channel per group) compiled with numba: a
matrix product per group would be a 1 x KH*KW by KH*KW x OH*OW product, far too
small for BLAS, and a sum of strided views sweeps the output KH*KW times.  This
kernel keeps one output plane in cache and adds each tap's weighted input row to
it, accumulating in the element type it is given (float32 on the fast path;
exactness of the integer case is ``integer.py``'s bound)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..kernels.conv import _valid_range


@njit(cache=True, parallel=True, fastmath=False)
def depthwise_planes(x, w, out, sh, sw, pt, pl, dh, dw):
    """``out`` [N, M, OH, OW] = depthwise convolution of ``x`` [N, C, H, W] by
    ``w`` [M, 1, KH, KW] (M a multiple of C), zero padding, no bias."""
    n_batch, channels, height, width = x.shape
    m_out, _, kh_size, kw_size = w.shape
    out_h, out_w = out.shape[2], out.shape[3]
    per_channel = m_out // channels
    for task in prange(n_batch * m_out):
        n = task // m_out
        m = task % m_out
        plane = x[n, m // per_channel]
        acc = out[n, m]
        acc[:, :] = 0
        for kh in range(kh_size):
            off_h = kh * dh - pt
            oh_lo, oh_hi = _valid_range(off_h, sh, out_h, height)
            for kw in range(kw_size):
                off_w = kw * dw - pl
                ow_lo, ow_hi = _valid_range(off_w, sw, out_w, width)
                count = ow_hi - ow_lo
                first = ow_lo * sw + off_w
                wv = w[m, 0, kh, kw]
                for oh in range(oh_lo, oh_hi):
                    src = plane[oh * sh + off_h, first:]
                    dst = acc[oh, ow_lo:ow_hi]
                    if sw == 1:
                        for i in range(count):
                            dst[i] += wv * src[i]
                    else:
                        for i in range(count):
                            dst[i] += wv * src[i * sw]


@njit(cache=True, parallel=True, fastmath=False)
def depthwise_planes_unit_stride(x, w, out, pt, pl, dh, dw):
    """``depthwise_planes`` for stride 1: each plane is copied once into a
    zero-padded buffer whose rows are as wide as the output plus the kernel's
    reach, so every tap is one long contiguous multiply-add over all output rows
    (the extra columns per row are computed and dropped); short rows of small
    planes no longer cost a loop each."""
    n_batch, channels, height, width = x.shape
    m_out, _, kh_size, kw_size = w.shape
    out_h, out_w = out.shape[2], out.shape[3]
    per_channel = m_out // channels
    pad_w = out_w + (kw_size - 1) * dw
    pad_h = out_h + (kh_size - 1) * dh + 1  # one spare row: the last taps read past the end
    rows = min(height, pad_h - 1 - pt)
    cols = min(width, pad_w - pl)
    span = out_h * pad_w
    for task in prange(n_batch * m_out):
        n = task // m_out
        m = task % m_out
        buffer = np.zeros((pad_h, pad_w), x.dtype)
        plane = x[n, m // per_channel]
        for r in range(rows):
            for col in range(cols):
                buffer[pt + r, pl + col] = plane[r, col]
        flat = buffer.reshape(pad_h * pad_w)
        acc = np.zeros(span, x.dtype)
        for kh in range(kh_size):
            for kw in range(kw_size):
                src = flat[kh * dh * pad_w + kw * dw:]
                wv = w[m, 0, kh, kw]
                for i in range(span):
                    acc[i] += wv * src[i]
        dst = out[n, m]
        for oh in range(out_h):
            for ow in range(out_w):
                dst[oh, ow] = acc[oh * pad_w + ow]


def depthwise(op, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``op``'s depthwise convolution of contiguous ``x`` by ``w`` in their dtype."""
    out = np.empty(op.outputs[0].type.shape, x.dtype)
    sh, sw = (int(s) for s in op.strides)
    dh, dw = (int(d) for d in op.dilations)
    pt, pl = int(op.pads[0]), int(op.pads[1])
    if (sh, sw) == (1, 1):
        depthwise_planes_unit_stride(x, w, out, pt, pl, dh, dw)
    else:
        depthwise_planes(x, w, out, sh, sw, pt, pl, dh, dw)
    return out
