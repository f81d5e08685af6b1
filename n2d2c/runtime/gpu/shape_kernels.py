"""Data movement of the array-module simulator, any element type (see __init__.py)."""

from __future__ import annotations

import weakref

from ...ir import ops
from . import array_kernel
from ..kernels.shape import crop_for_pad

# op -> its value on the device: copied once, not on every run.
_DEVICE_VALUES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@array_kernel(ops.Constant, dtypes=None)
def constant(xp, op):
    cached = _DEVICE_VALUES.get(op)
    if cached is None or cached[0] is not xp or cached[1] is not op.value:
        cached = (xp, op.value, xp.asarray(op.value))
        _DEVICE_VALUES[op] = cached
    return cached[2]


@array_kernel(ops.Identity, ops.Dropout, dtypes=None)
def identity(xp, op, x):
    return x


@array_kernel(ops.Concat, dtypes=None)
def concat(xp, op, *xs):
    return xp.concatenate(xs, axis=op.axis)


@array_kernel(ops.Reshape, dtypes=None)
def reshape(xp, op, x):
    return xp.reshape(x, op.shape)


@array_kernel(ops.Transpose, dtypes=None)
def transpose(xp, op, x):
    return xp.transpose(x, op.perm or None)


@array_kernel(ops.Slice, dtypes=None)
def slice_(xp, op, x):
    return x[op.slices(x.ndim)]


@array_kernel(ops.Split, dtypes=None)
def split(xp, op, x):
    axis = op.axis % x.ndim
    out, start = [], 0
    for size in op.sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + size)
        out.append(x[tuple(index)])
        start += size
    return out


@array_kernel(ops.Pad, dtypes=None)
def pad(xp, op, x):
    x, widths = crop_for_pad(op, x)
    if not any(b or e for b, e in widths):
        return x
    if op.mode == "constant":
        return xp.pad(x, widths, mode="constant", constant_values=op.value)
    return xp.pad(x, widths, mode="reflect" if op.mode == "reflect" else "edge")
