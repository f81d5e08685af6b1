"""Data movement: constants, concat, reshape, transpose, slice, split, pad.

These kernels work for every element type and may return views of their
operands (no kernel ever writes into an operand).
"""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..registry import ANY, kernel


@kernel(ops.Constant, dtypes=ANY)
def constant(op: ops.Constant):
    return op.value


@kernel(ops.Concat, dtypes=ANY)
def concat(op: ops.Concat, *xs):
    return np.concatenate(xs, axis=op.axis)


@kernel(ops.Reshape, dtypes=ANY)
def reshape(op: ops.Reshape, x):
    return np.reshape(x, op.shape)


@kernel(ops.Transpose, dtypes=ANY)
def transpose(op: ops.Transpose, x):
    return np.transpose(x, op.perm)


@kernel(ops.Slice, dtypes=ANY)
def slice_(op: ops.Slice, x):
    return x[op.slices(x.ndim)]


@kernel(ops.Split, dtypes=ANY)
def split(op: ops.Split, x):
    axis = op.axis % x.ndim
    bounds = np.cumsum(op.sizes)[:-1]
    return list(np.split(x, bounds, axis=axis))


def crop_for_pad(op: ops.Pad, x):
    """(``x`` cropped by the negative pads, the (before, after) widths left to pad):
    ONNX's negative pads crop, so crop first, then pad what is left."""
    rank = x.ndim
    begins, ends = op.pads[:rank], op.pads[rank:]
    crop = tuple(slice(max(0, -b), x.shape[i] - max(0, -e))
                 for i, (b, e) in enumerate(zip(begins, ends)))
    return x[crop], [(max(0, b), max(0, e)) for b, e in zip(begins, ends)]


@kernel(ops.Pad, dtypes=ANY)
def pad(op: ops.Pad, x):
    x, widths = crop_for_pad(op, x)
    if not any(b or e for b, e in widths):
        return x
    if op.mode == "reflect":
        for axis, (b, e) in enumerate(widths):
            if max(b, e) > x.shape[axis] - 1:
                raise op.error(f"reflect padding {max(b, e)} on axis {axis} needs at least "
                               f"{max(b, e) + 1} elements, the input has {x.shape[axis]}")
    if op.mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=np.asarray(op.value, x.dtype))
    return np.pad(x, widths, mode="reflect" if op.mode == "reflect" else "edge")
