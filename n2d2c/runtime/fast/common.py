"""Padding and im2col columns shared by the fast convolution and pooling kernels."""

from __future__ import annotations

import numpy as np


def reach(out_len: int, kernel: int, stride: int, dilation: int) -> int:
    """Input extent read by ``out_len`` windows."""
    return (out_len - 1) * stride + (kernel - 1) * dilation + 1


def pad_input(x: np.ndarray, out_hw, kernel, strides, dilations, pads, value) -> np.ndarray:
    """``x`` [N, C, H, W] padded with ``value`` so that every window reads inside it:
    the declared begin pads, and at the end what the windows reach (ceil mode may
    reach past the declared end pads; fewer is never read)."""
    top, left = int(pads[0]), int(pads[1])
    height = reach(out_hw[0], kernel[0], strides[0], dilations[0])
    width = reach(out_hw[1], kernel[1], strides[1], dilations[1])
    bottom = max(0, height - x.shape[2] - top)
    right = max(0, width - x.shape[3] - left)
    if not (top or left or bottom or right):
        return x
    out = np.full((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right),
                  value, x.dtype)
    out[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    return out


def tap(xpad: np.ndarray, kh: int, kw: int, out_hw, strides, dilations) -> np.ndarray:
    """The strided view [N, C, OH, OW] of ``xpad`` read by kernel tap (kh, kw)."""
    top, left = kh * dilations[0], kw * dilations[1]
    return xpad[:, :, top:top + (out_hw[0] - 1) * strides[0] + 1:strides[0],
                left:left + (out_hw[1] - 1) * strides[1] + 1:strides[1]]


def im2col(xpad: np.ndarray, kernel, out_hw, strides, dilations) -> np.ndarray:
    """Columns [N, C, KH, KW, OH*OW] (a C*KH*KW x OH*OW matrix per sample, rows in
    the order of the weights' flattened [C, KH, KW]): one copy per tap."""
    n, c = xpad.shape[:2]
    cols = np.empty((n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]), xpad.dtype)
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            cols[:, :, kh, kw] = tap(xpad, kh, kw, out_hw, strides, dilations)
    return cols.reshape(n, c, kernel[0], kernel[1], out_hw[0] * out_hw[1])


def conv_args(op):
    strides = tuple(int(s) for s in op.strides)
    dilations = tuple(int(d) for d in op.dilations)
    return strides, dilations
