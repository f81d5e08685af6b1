"""Integer 2-D convolution and transposed convolution (direct, exact int64
accumulation; groups/depthwise)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ....ir import ops
from ...registry import INTEGER, kernel
from .common import int64


@njit(cache=True)
def _qconv2d(x, w, b, out, sh, sw, pt, pl, dh, dw, group):
    n_batch, _, height, width = x.shape
    m_out, c_per_group, kh_size, kw_size = w.shape
    out_h, out_w = out.shape[2], out.shape[3]
    m_per_group = m_out // group
    for n in range(n_batch):
        for m in range(m_out):
            g = m // m_per_group
            for oh in range(out_h):
                for ow in range(out_w):
                    acc = b[m]
                    for cc in range(c_per_group):
                        c = g * c_per_group + cc
                        for kh in range(kh_size):
                            ih = oh * sh - pt + kh * dh
                            if ih < 0 or ih >= height:
                                continue
                            for kw in range(kw_size):
                                iw = ow * sw - pl + kw * dw
                                if iw < 0 or iw >= width:
                                    continue
                                acc += x[n, c, ih, iw] * w[m, cc, kh, kw]
                    out[n, m, oh, ow] = acc


def conv2d_reference(op: ops.Conv2d, x, w, b=None) -> np.ndarray:
    """The exact int64 result of an integer conv2d."""
    out = np.empty(op.outputs[0].type.shape, np.int64)
    bias = np.zeros(w.shape[0], np.int64) if b is None else int64(b)
    _qconv2d(int64(x), int64(w), bias, out, int(op.strides[0]), int(op.strides[1]),
             int(op.pads[0]), int(op.pads[1]), int(op.dilations[0]), int(op.dilations[1]),
             int(op.group))
    return out


@kernel(ops.Conv2d, dtypes=INTEGER)
def qconv2d(op: ops.Conv2d, x, w, b=None):
    return conv2d_reference(op, x, w, b)


@njit(cache=True)
def _qconv_transpose2d(x, w, b, out, sh, sw, pt, pl, dh, dw, group):
    # Scatter form: every input cell adds x * w to the output cells its kernel reaches;
    # int64 sums are exact, so the order does not matter.
    n_batch, c_in, height, width = x.shape
    _, m_per_group, kh_size, kw_size = w.shape
    m_out, out_h, out_w = out.shape[1], out.shape[2], out.shape[3]
    c_per_group = c_in // group
    for n in range(n_batch):
        for m in range(m_out):
            out[n, m] = b[m]
        for c in range(c_in):
            g = c // c_per_group
            for ih in range(height):
                for iw in range(width):
                    v = x[n, c, ih, iw]
                    for mm in range(m_per_group):
                        m = g * m_per_group + mm
                        for kh in range(kh_size):
                            oh = ih * sh - pt + kh * dh
                            if oh < 0 or oh >= out_h:
                                continue
                            for kw in range(kw_size):
                                ow = iw * sw - pl + kw * dw
                                if 0 <= ow < out_w:
                                    out[n, m, oh, ow] += v * w[c, mm, kh, kw]


@kernel(ops.ConvTranspose2d, dtypes=INTEGER)
def qconv_transpose2d(op: ops.ConvTranspose2d, x, w, b=None):
    out = np.empty(op.outputs[0].type.shape, np.int64)
    bias = np.zeros(out.shape[1], np.int64) if b is None else int64(b)
    _qconv_transpose2d(int64(x), int64(w), bias, out, int(op.strides[0]), int(op.strides[1]),
                       int(op.pads[0]), int(op.pads[1]), int(op.dilations[0]),
                       int(op.dilations[1]), int(op.group))
    return out
