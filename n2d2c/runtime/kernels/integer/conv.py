"""Integer 2-D convolution (direct, exact int64 accumulation; groups/depthwise)."""

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
