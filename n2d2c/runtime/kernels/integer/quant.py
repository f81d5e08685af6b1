"""quantize / dequantize / rescale (semantics: n2d2c/ir/ops/quant.py, arithmetic:
n2d2c/ir/integer.py)."""

from __future__ import annotations

import numpy as np

from ....ir import integer, ops
from ....ir.ops.quant import integer_dtype, per_channel
from ...registry import FLOAT, INTEGER, kernel


@kernel(ops.Quantize, dtypes=FLOAT)
def quantize(op: ops.Quantize, x):
    return integer.quantize(x, op.scale, op.zero_point, integer_dtype(op, op.dtype))


@kernel(ops.Dequantize, dtypes=INTEGER)
def dequantize(op: ops.Dequantize, q):
    return integer.dequantize(q, op.scale, op.zero_point)


def rescale_reference(op: ops.Rescale, x: np.ndarray) -> np.ndarray:
    """Run ``op`` on ``x``; returns int64 (the kernel casts to ``op.dtype``)."""
    x = np.asarray(x)
    if x.ndim == 0:
        channels, shape = 1, ()
    else:
        axis = op.axis % x.ndim
        channels = x.shape[axis]
        shape = tuple(channels if i == axis else 1 for i in range(x.ndim))

    def along_axis(values, dtype):  # one entry per channel, broadcasting along op.axis
        return per_channel(values or (0,), channels, dtype).reshape(shape)

    lo, hi = op.bounds(channels)
    return integer.rescale(
        x, op.mode, scales=along_axis(op.scales, np.float64),
        multipliers=along_axis(op.multipliers, np.int64),
        shifts=along_axis(op.shifts, np.int64), left_shifts=along_axis(op.left_shifts, np.int64),
        input_zero_point=op.input_zero_point, zero_point=op.zero_point,
        out_min=lo.reshape(shape), out_max=hi.reshape(shape))


@kernel(ops.Rescale, dtypes=INTEGER)
def rescale(op: ops.Rescale, x):
    return rescale_reference(op, x).astype(integer_dtype(op, op.dtype).numpy)
