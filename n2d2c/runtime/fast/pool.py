"""Fast MaxPool2d / AvgPool2d: a running maximum or sum over the kernel taps'
strided views (padding with -inf or 0), in float32; integer max pooling the same way
in the input's own type (padding with its lowest value), which is exact."""

from __future__ import annotations

import math

import numpy as np

from ...ir import ops
from ..gpu.float_kernels import window_counts
from ..gpu.windows import padded
from ..kernels._util import f32
from ..registry import INTEGER, kernel
from .common import tap


def _args(op):
    return (tuple(int(k) for k in op.kernel), tuple(int(s) for s in op.strides),
            tuple(int(d) for d in op.dilations), tuple(op.outputs[0].type.shape[2:]))


def _reduce(x, op, fill, combine):
    kernel, strides, dilations, out_hw = _args(op)
    xpad = padded(np, x, out_hw, kernel, strides, dilations, op.pads, fill)
    out = np.array(tap(xpad, 0, 0, out_hw, strides, dilations))
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            if kh or kw:
                combine(out, tap(xpad, kh, kw, out_hw, strides, dilations), out=out)
    return out, kernel, strides, dilations, out_hw


@kernel(ops.MaxPool2d, precision="fast")
def max_pool2d(op: ops.MaxPool2d, x):
    # np.fmax would skip NaNs; np.maximum propagates them like the reference kernel.
    return _reduce(f32(x), op, -math.inf, np.maximum)[0]


@kernel(ops.MaxPool2d, dtypes=INTEGER, precision="fast")
def qmax_pool2d(op: ops.MaxPool2d, x):
    x = np.ascontiguousarray(x)
    return _reduce(x, op, np.iinfo(x.dtype).min, np.maximum)[0]


@kernel(ops.AvgPool2d, precision="fast")
def avg_pool2d(op: ops.AvgPool2d, x):
    total, kernel, strides, dilations, out_hw = _reduce(f32(x), op, 0.0, np.add)
    count = window_counts(np, op, x.shape, out_hw, kernel, strides, dilations)
    return np.where(count > 0, total / np.maximum(count, 1), 0).astype(np.float32)
