"""Fast Conv2d / ConvTranspose2d: im2col columns times the weight matrix (BLAS),
one product per sample and group; depthwise convolutions (one input channel per
group) by the direct kernel of ``depthwise.py``.

The same code serves float32 (float32 storage and sums) and the integer IR: there
``integer.py`` picks an element type in which every partial sum is exact.
"""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..gpu.float_kernels import transposed_conv
from ..gpu.windows import padded, window_args
from ..kernels._util import apply_activation, f32
from ..registry import kernel
from .common import im2col
from .depthwise import depthwise


def conv2d_in(op: ops.Conv2d, x: np.ndarray, w: np.ndarray, dtype) -> np.ndarray:
    """``op``'s convolution of ``x`` by ``w`` (no bias), computed in ``dtype``."""
    n, c = x.shape[:2]
    m, c_group, kh, kw = w.shape
    group = int(op.group)
    out_hw = tuple(op.outputs[0].type.shape[2:])
    _, strides, dilations = window_args(op)
    x = np.ascontiguousarray(x, dtype)
    w = np.ascontiguousarray(w, dtype)
    if c_group == 1 and group > 1:
        return depthwise(op, x, w)
    pointwise = (kh, kw) == (1, 1) and strides == (1, 1) and not any(op.pads)
    if pointwise:
        cols = x.reshape(n, group, c_group, -1)
    else:
        xpad = padded(np, x, out_hw, (kh, kw), strides, dilations, op.pads, 0)
        cols = im2col(xpad, (kh, kw), out_hw, strides, dilations)
        cols = cols.reshape(n, group, c_group * kh * kw, -1)
    weights = w.reshape(group, m // group, c_group * kh * kw)
    out = np.empty((n, group, m // group, out_hw[0] * out_hw[1]), dtype)
    for i in range(n):  # one sample at a time: a batch gives the batch-1 results
        if group == 1:
            np.matmul(weights[0], cols[i, 0], out=out[i, 0])
        else:
            np.matmul(weights, cols[i], out=out[i])
    return out.reshape(n, m, *out_hw)


@kernel(ops.Conv2d, fused_activation=True, precision="fast")
def conv2d(op: ops.Conv2d, x, w, b=None):
    y = conv2d_in(op, f32(x), f32(w), np.float32)
    if b is not None:
        y += f32(b).reshape(1, -1, 1, 1)
    return apply_activation(op, y)


@kernel(ops.ConvTranspose2d, fused_activation=True, precision="fast")
def conv_transpose2d(op: ops.ConvTranspose2d, x, w, b=None):
    # One product per kernel tap, stacked over samples and groups (numpy runs one
    # BLAS call per stacked matrix, so a batch gives the batch-1 results).
    y = transposed_conv(np, op, f32(x), f32(w), None if b is None else f32(b), np.float32)
    return apply_activation(op, np.ascontiguousarray(y))
