"""Tap views and im2col columns shared by the fast convolution and pooling kernels (the
padding is the array kernels' ``gpu/windows.padded``)."""

from __future__ import annotations

import numpy as np


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
