"""Integer add, sub and mul (into an accumulator), relu, clip, max and min."""

from __future__ import annotations

import numpy as np

from ....ir import ops
from ....ir.integer import saturated_bounds
from ...registry import INTEGER, kernel


_EXACT = {ops.Add: np.add, ops.Sub: np.subtract, ops.Mul: np.multiply}


@kernel(*_EXACT, dtypes=INTEGER)
def qaccumulate(op, a, b):
    """The exact result in int64 (the simulator stores the op's i32/i64 result type)."""
    return _EXACT[type(op)](np.asarray(a, np.int64), np.asarray(b, np.int64))


@kernel(ops.Relu, dtypes=INTEGER)
def qrelu(op: ops.Relu, x):
    return np.maximum(x, x.dtype.type(0))


@kernel(ops.Clip, dtypes=INTEGER)
def qclip(op: ops.Clip, x):
    lo, hi = saturated_bounds(op.min, op.max, x.dtype)
    if lo > hi:
        return np.full_like(x, hi)
    return np.clip(x, lo, hi).astype(x.dtype)


@kernel(ops.Max, dtypes=INTEGER)
def qmax(op: ops.Max, a, b):
    return np.maximum(a, b)


@kernel(ops.Min, dtypes=INTEGER)
def qmin(op: ops.Min, a, b):
    return np.minimum(a, b)
