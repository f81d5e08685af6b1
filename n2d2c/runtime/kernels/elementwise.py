"""Element-wise ops: broadcasting binaries and activations (vectorised numpy)."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..registry import ANY, kernel
from ._util import apply_activation


@kernel(ops.Add, fused_activation=True)
def add(op, a, b):
    return apply_activation(op, np.add(a, b))


@kernel(ops.Sub)
def sub(op, a, b):
    return np.subtract(a, b)


@kernel(ops.Mul)
def mul(op, a, b):
    return np.multiply(a, b)


@kernel(ops.Div)
def div(op, a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


@kernel(ops.Max)
def maximum(op, a, b):
    return np.maximum(a, b)


@kernel(ops.Min)
def minimum(op, a, b):
    return np.minimum(a, b)


@kernel(ops.PRelu)
def prelu(op, x, slope):
    return np.where(x < 0, x * slope, x)


@kernel(ops.Relu)
def relu(op, x):
    return np.maximum(x, x.dtype.type(0))


@kernel(ops.LeakyRelu)
def leaky_relu(op, x):
    return np.where(x < 0, x * x.dtype.type(op.alpha), x)


@kernel(ops.Clip)
def clip(op, x):
    lo = x.dtype.type(op.min)
    hi = x.dtype.type(op.max)
    return np.minimum(np.maximum(x, lo), hi)


@kernel(ops.Sigmoid)
def sigmoid(op, x):
    # exp of a non-positive number only: no overflow for large |x|.
    xd = x.astype(np.float64)
    e = np.exp(-np.abs(xd))
    return np.where(xd >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(xd):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exp never overflows.
    return np.maximum(xd, 0.0) + np.log1p(np.exp(-np.abs(xd)))


@kernel(ops.Softplus)
def softplus(op, x):
    return _softplus(x.astype(np.float64))


@kernel(ops.Swish)
def swish(op, x):
    xd = x.astype(np.float64)
    return xd * sigmoid(op, op.alpha * xd)


@kernel(ops.Mish)
def mish(op, x):
    xd = x.astype(np.float64)
    return xd * np.tanh(_softplus(xd))


@kernel(ops.Tanh)
def tanh(op, x):
    return np.tanh(x)


@kernel(ops.HardSigmoid)
def hard_sigmoid(op, x):
    xd = x.astype(np.float64)
    return np.clip(op.alpha * xd + op.beta, 0.0, 1.0)


@kernel(ops.HardSwish)
def hard_swish(op, x):
    xd = x.astype(np.float64)
    return xd * np.clip(xd / 6.0 + 0.5, 0.0, 1.0)


@kernel(ops.Identity, ops.Dropout, dtypes=ANY)
def identity(op, x):
    return x
