"""Element-wise math (ir/ops/math.py), evaluated in float64 and rounded once to the
result type by the simulator, like the activations."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...ir import ops
from ..registry import kernel


@njit(cache=True)
def _erf(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out.flat[i] = math.erf(x.flat[i])
    return out


_UNARY = {
    ops.Sqrt: np.sqrt, ops.Reciprocal: lambda x: 1.0 / x, ops.Exp: np.exp, ops.Log: np.log,
    ops.Abs: np.abs, ops.Neg: np.negative, ops.Floor: np.floor, ops.Ceil: np.ceil,
    ops.Erf: lambda x: _erf(np.ascontiguousarray(x)),
}


@kernel(*_UNARY)
def unary_math(op, x):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _UNARY[type(op)](np.asarray(x, np.float64))


_TANH_GELU = math.sqrt(2.0 / math.pi)


@kernel(ops.Gelu)
def gelu(op, x):
    xd = np.asarray(x, np.float64)
    if op.approximate == "tanh":
        return 0.5 * xd * (1.0 + np.tanh(_TANH_GELU * (xd + 0.044715 * xd ** 3)))
    return 0.5 * xd * (1.0 + _erf(np.ascontiguousarray(xd) * math.sqrt(0.5)))


@kernel(ops.Pow)
def pow_(op, a, b):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(np.asarray(a, np.float64), np.asarray(b, np.float64))
