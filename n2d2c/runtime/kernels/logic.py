"""Comparisons, boolean logic, Where, Cast, Sign and ArgMax/ArgMin (ir/ops/logic.py).

All of them are defined for every element type, so each kernel is registered for any
dtype; numpy's broadcasting is ONNX's.
"""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..registry import ANY, kernel


@kernel(ops.Cast, dtypes=ANY)
def cast(op, x):
    # Float -> integer truncates toward zero like C; NaN or out-of-range values are
    # undefined in ONNX, so numpy's "invalid value" warning is noise here.
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(x).astype(op.target.numpy)


_BINARY = {ops.Equal: np.equal, ops.Less: np.less, ops.Greater: np.greater,
           ops.LessOrEqual: np.less_equal, ops.GreaterOrEqual: np.greater_equal,
           ops.And: np.logical_and, ops.Or: np.logical_or, ops.Xor: np.logical_xor}


@kernel(*_BINARY, dtypes=ANY)
def compare(op, a, b):
    return _BINARY[type(op)](a, b)


@kernel(ops.Not, dtypes=ANY)
def logical_not(op, x):
    return np.logical_not(x)


@kernel(ops.Where, dtypes=ANY)
def where(op, cond, x, y):
    return np.where(cond, x, y)


@kernel(ops.Sign, dtypes=ANY)
def sign(op, x):
    return np.sign(x)


@kernel(ops.ArgMax, ops.ArgMin, dtypes=ANY)
def arg_reduce(op, x):
    return op.evaluate(x)
