"""Reductions, comparisons and logic, casts, gathers and block shuffles of the
array-module simulator (see __init__.py); semantics as the CPU kernels
(n2d2c/runtime/kernels/logic.py, indexing.py, softmax.py's reductions)."""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError
from ...ir import ops
from ..registry import INTEGER
from . import array_kernel


def _reduce(xp, kind, x, axes, keepdims):
    x = x.astype(xp.float64 if np.dtype(x.dtype).kind == "f" else xp.int64)
    if not axes:
        return x
    if kind in ("max", "min") and x.size == 0:
        raise InputError("reduction of an empty set")  # the CPU's initial=±inf has no twin
    if kind == "log_sum_exp":
        top = x.max(axis=axes, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        out = xp.log(xp.exp(x - top).sum(axis=axes, keepdims=True)) + top
        return out if keepdims else xp.squeeze(out, axis=axes)
    table = {
        "mean": lambda: x.mean(axis=axes, keepdims=keepdims),
        "sum": lambda: x.sum(axis=axes, keepdims=keepdims),
        "max": lambda: x.max(axis=axes, keepdims=keepdims),
        "min": lambda: x.min(axis=axes, keepdims=keepdims),
        "prod": lambda: x.prod(axis=axes, keepdims=keepdims),
        "l1": lambda: xp.abs(x).sum(axis=axes, keepdims=keepdims),
        "l2": lambda: xp.sqrt((x * x).sum(axis=axes, keepdims=keepdims)),
        "sum_square": lambda: (x * x).sum(axis=axes, keepdims=keepdims),
        "log_sum": lambda: xp.log(x.sum(axis=axes, keepdims=keepdims)),
    }
    return table[kind]()


@array_kernel(*ops.REDUCTIONS)
def reduce(xp, op, x):
    return _reduce(xp, op.KIND, x, tuple(op.reduced_axes(x.ndim)), op.keepdims)


@array_kernel(ops.Cast, dtypes=None)
def cast(xp, op, x):
    return x.astype(op.target.numpy)


COMPARE = {ops.Equal: "equal", ops.Less: "less", ops.Greater: "greater",
           ops.LessOrEqual: "less_equal", ops.GreaterOrEqual: "greater_equal",
           ops.And: "logical_and", ops.Or: "logical_or", ops.Xor: "logical_xor"}


@array_kernel(*COMPARE, dtypes=None)
def compare(xp, op, a, b):
    return getattr(xp, COMPARE[type(op)])(a, b)


@array_kernel(ops.Not, dtypes=None)
def logical_not(xp, op, x):
    return xp.logical_not(x)


@array_kernel(ops.Where, dtypes=None)
def where(xp, op, cond, a, b):
    return xp.where(cond, a, b)


@array_kernel(ops.Sign, dtypes=None)
def sign(xp, op, x):
    return xp.sign(x)


@array_kernel(ops.ArgMax, ops.ArgMin, dtypes=None)
def arg_reduce(xp, op, x):
    return op.evaluate(x, xp)


def _wrapped(xp, op, indices, size, axis):
    indices = xp.asarray(indices, xp.int64).reshape(op.inputs[1].shape)
    bad = (indices < -size) | (indices >= size)
    if bool(bad.any()):
        raise InputError(f"{op.label}: index {int(indices[bad].ravel()[0])} is out of range "
                         f"for axis {axis} of size {size}")
    return xp.where(indices < 0, indices + size, indices)


@array_kernel(ops.Gather, dtypes=None)
def gather(xp, op, x, indices):
    axis = op.resolved_axis(x.ndim)
    return xp.take(x, _wrapped(xp, op, indices, x.shape[axis], axis), axis=axis)


@array_kernel(ops.GatherElements, dtypes=None)
def gather_elements(xp, op, x, indices):
    axis = op.resolved_axis(x.ndim)
    window = tuple(slice(None) if a == axis else slice(0, n) for a, n in enumerate(indices.shape))
    return xp.take_along_axis(x[window], _wrapped(xp, op, indices, x.shape[axis], axis), axis=axis)


@array_kernel(ops.Expand, dtypes=None)
def expand(xp, op, x):
    return xp.broadcast_to(x, op.output.shape)


@array_kernel(ops.Tile, dtypes=None)
def tile(xp, op, x):
    return xp.tile(x, op.repeats)


@array_kernel(ops.DepthToSpace, ops.SpaceToDepth, dtypes=None)
def block_shuffle(xp, op, x):
    split, perm = op.rearrangement(x.shape)
    return xp.reshape(xp.transpose(xp.reshape(x, split), perm), op.output.shape)


@array_kernel(ops.Trilu, dtypes=None)
def trilu(xp, op, x):
    return xp.triu(x, op.k) if op.upper else xp.tril(x, op.k)


@array_kernel(ops.Softplus)
def softplus(xp, op, x):
    xd = x.astype(xp.float64)
    return (xp.maximum(xd, 0) + xp.log1p(xp.exp(-xp.abs(xd)))).astype(xp.float32)


@array_kernel(ops.Mish)
def mish(xp, op, x):
    xd = x.astype(xp.float64)
    return (xd * xp.tanh(xp.maximum(xd, 0) + xp.log1p(xp.exp(-xp.abs(xd))))).astype(xp.float32)


def erf(xp, x):
    """erf in float64: cupyx.scipy.special on the GPU, the CPU simulator's on numpy."""
    if xp.__name__ == "cupy":
        import cupyx.scipy.special
        return cupyx.scipy.special.erf(x)
    from ..kernels.math import _erf
    return _erf(np.ascontiguousarray(x))


@array_kernel(ops.Erf)
def erf_op(xp, op, x):
    return erf(xp, x.astype(xp.float64)).astype(xp.float32)


@array_kernel(ops.Gelu)
def gelu(xp, op, x):
    xd = x.astype(xp.float64)
    if op.approximate == "tanh":
        inner = xp.tanh(math.sqrt(2.0 / math.pi) * (xd + 0.044715 * xd ** 3))
    else:
        inner = erf(xp, xd * math.sqrt(0.5))
    return (0.5 * xd * (1.0 + inner)).astype(xp.float32)


def _resize_axes(xp, op, x, integer: bool):
    """Resize axis by axis with the CPU kernels' coordinate tables (computed on the
    host, runtime/kernels/resize.py): nearest gathers, linear weighs two gathers
    (float64, or int64 with integer.resize_weights for the integer IR)."""
    from ...ir.integer import resize_weights
    from ..kernels.resize import axis_table
    y = x if op.mode == "nearest" else x.astype(xp.int64 if integer else xp.float64)
    for axis, n in enumerate(x.shape):
        table = axis_table(op, axis, n)
        if op.mode == "nearest":
            if table is not None:
                y = xp.take(y, xp.asarray(table[0]), axis=axis)
            continue
        if integer and n == op.sizes[axis] and op.scales[axis] == 1.0:
            continue  # not a resized axis: no integer weights (as the CPU kernel)
        if table is None:
            continue
        lo, hi, frac = table
        shape = [1] * y.ndim
        shape[axis] = -1
        if integer:
            w_lo, w_hi = (xp.asarray(w.reshape(shape)) for w in resize_weights(frac))
        else:
            w_hi = xp.asarray(frac.reshape(shape))
            w_lo = 1.0 - w_hi
        y = (xp.take(y, xp.asarray(lo), axis=axis) * w_lo
             + xp.take(y, xp.asarray(hi), axis=axis) * w_hi)
    return y


@array_kernel(ops.Resize)
def resize(xp, op, x):
    return _resize_axes(xp, op, x, integer=False)


@array_kernel(ops.Resize, dtypes=INTEGER)
def qresize(xp, op, x):
    return _resize_axes(xp, op, x, integer=True)
