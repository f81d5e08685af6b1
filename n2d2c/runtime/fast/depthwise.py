"""Depthwise convolution (one input channel per group) compiled with numba: a
matrix product per group would be a 1 x KH*KW by KH*KW x OH*OW product, far too
small for BLAS, and a sum of strided views sweeps the output KH*KW times.  This
kernel keeps one output plane in cache and adds each tap's weighted input to it,
accumulating in the output's element type: float32 on the float fast path, int32 or
int64 for integer inputs read in their own type (``integer.py`` bounds the sums)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=False)
def depthwise_phases(x, w, out, sh, sw, pt, pl, dh, dw):
    """``out`` [N, M, OH, OW] = depthwise convolution of ``x`` [N, C, H, W] by
    ``w`` [M, 1, KH, KW] (M a multiple of C), zero padding, no bias, accumulated in
    ``out``'s element type (the phase planes keep ``x``'s), by stride
    phases: each plane is split once into ``sh * sw`` zero-padded phase planes (phase (a, b) holds the padded input cells
    at rows ``r*sh + a``, columns ``c*sw + b``), rows as wide as the output plus the
    kernel's reach.  Tap (kh, kw) then reads one phase at a fixed offset, so each
    tap is one long contiguous multiply-add over every output row (the extra
    columns per row are computed and dropped): no short row loops, no strided
    loads.  Each output sums its taps in (kh, kw) order, whatever the batch."""
    n_batch, channels, height, width = x.shape
    m_out, _, kh_size, kw_size = w.shape
    out_h, out_w = out.shape[2], out.shape[3]
    per_channel = m_out // channels
    phase_w = out_w + (kw_size - 1) * dw // sw
    phase_h = out_h + (kh_size - 1) * dh // sh + 1  # a spare row: the last taps read past
    span = out_h * phase_w
    for task in prange(n_batch * m_out):
        n = task // m_out
        m = task % m_out
        plane = x[n, m // per_channel]
        phases = np.zeros((sh, sw, phase_h, phase_w), x.dtype)
        for a in range(sh):
            for r in range(phase_h):
                ih = r * sh + a - pt
                if ih < 0 or ih >= height:
                    continue
                for b in range(sw):   # the columns c with 0 <= c*sw + b - pl < width
                    c0 = max(0, (pl - b + sw - 1) // sw)
                    c1 = min(phase_w, (width - 1 - b + pl) // sw + 1)
                    if c1 > c0:
                        start = c0 * sw + b - pl
                        phases[a, b, r, c0:c1] = plane[ih, start:start + (c1 - c0 - 1) * sw + 1:sw]
        acc = np.zeros(span, out.dtype)
        for kh in range(kh_size):
            for kw in range(kw_size):
                a, row = (kh * dh) % sh, (kh * dh) // sh
                b, col = (kw * dw) % sw, (kw * dw) // sw
                src = phases[a, b].reshape(phase_h * phase_w)[row * phase_w + col:]
                wv = w[m, 0, kh, kw]
                for i in range(span):
                    acc[i] += wv * src[i]
        dst = out[n, m]
        for oh in range(out_h):
            for ow in range(out_w):
                dst[oh, ow] = acc[oh * phase_w + ow]


def depthwise(op, x: np.ndarray, w: np.ndarray, acc=None) -> np.ndarray:
    """``op``'s depthwise convolution of contiguous ``x`` by ``w``, accumulated in
    ``acc`` (default: ``x``'s dtype)."""
    out = np.empty(op.outputs[0].type.shape, x.dtype if acc is None else acc)
    sh, sw = (int(s) for s in op.strides)
    dh, dw = (int(d) for d in op.dilations)
    pt, pl = int(op.pads[0]), int(op.pads[1])
    depthwise_phases(x, w, out, sh, sw, pt, pl, dh, dw)
    return out
