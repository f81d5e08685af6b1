"""Import-time evaluation of nodes whose inputs are all constants.

Exported models compute shapes at run time (Shape -> Gather -> Concat ->
Reshape ...).  Every IR shape is static, so these chains can be evaluated here
with numpy and their results handed to the consumer as constants.  Each folder
receives the node context and the input arrays (None for absent optional
inputs) and returns the output arrays in order.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from onnx import numpy_helper

from ...ir import ops
from . import params
from .registry import folder


# -- sources ------------------------------------------------------------------------
@folder("Constant")
def fold_constant(ctx, arrays):
    attrs = ctx.attrs
    if "value" in attrs:
        return [numpy_helper.to_array(attrs["value"])]
    if "value_float" in attrs:
        return [np.array(attrs["value_float"], np.float32)]
    if "value_floats" in attrs:
        return [np.array(attrs["value_floats"], np.float32)]
    if "value_int" in attrs:
        return [np.array(attrs["value_int"], np.int64)]
    if "value_ints" in attrs:
        return [np.array(attrs["value_ints"], np.int64)]
    if "sparse_value" in attrs:
        from .tensors import sparse_to_array
        return [sparse_to_array(attrs["sparse_value"], ctx.state.check_bytes)]
    raise ctx.unsupported(f"constant of kind {sorted(attrs)} is not supported (numbers only)")


@folder("ConstantOfShape", static=(0,))
def fold_constant_of_shape(ctx, arrays):
    shape = tuple(int(d) for d in arrays[0].reshape(-1))
    value = ctx.attrs.get("value")
    fill = numpy_helper.to_array(value).reshape(-1) if value is not None \
        else np.zeros(1, np.float32)
    ctx.check_alloc(shape, fill.dtype)
    return [np.full(shape, fill[0], dtype=fill.dtype)]


@folder("Shape", needs_values=False)
def fold_shape(ctx, arrays):
    shape = ctx.shape(0)
    start, end = ctx.attr("start", 0), ctx.attr("end", None)
    return [np.array(shape[start:end], np.int64)]


@folder("Size", needs_values=False)
def fold_size(ctx, arrays):
    return [np.array(math.prod(ctx.shape(0)), np.int64)]


@folder("Range", static=(0, 1, 2))
def fold_range(ctx, arrays):
    start, limit, delta = (a.reshape(()) for a in arrays[:3])
    if delta == 0:
        raise ctx.shape_error("Range with delta 0")
    count = max(int(math.ceil((float(limit) - float(start)) / float(delta))), 0)
    ctx.check_alloc((count,), start.dtype)
    return [(start + np.arange(count, dtype=start.dtype) * delta).astype(start.dtype)]


# -- data movement -----------------------------------------------------------------------
@folder("Identity")
def fold_identity(ctx, arrays):
    return [arrays[0]]


@folder("Dropout")
def fold_dropout(ctx, arrays):
    return [arrays[0], np.ones(arrays[0].shape, np.bool_)]


@folder("Cast")
def fold_cast(ctx, arrays):
    return [arrays[0].astype(params.as_numpy_dtype(ctx, int(ctx.attr("to"))))]


@folder("CastLike")
def fold_cast_like(ctx, arrays):
    return [arrays[0].astype(ctx.declared_dtype(1))]


@folder("Reshape")
def fold_reshape(ctx, arrays):
    return [arrays[0].reshape(params.reshape_target(ctx, arrays[0].shape))]


@folder("Flatten")
def fold_flatten(ctx, arrays):
    return [arrays[0].reshape(params.flatten_shape(ctx, arrays[0].shape))]


@folder("Squeeze")
def fold_squeeze(ctx, arrays):
    return [arrays[0].reshape(params.squeeze_shape(ctx, arrays[0].shape))]


@folder("Unsqueeze")
def fold_unsqueeze(ctx, arrays):
    return [arrays[0].reshape(params.unsqueeze_shape(ctx, arrays[0].shape))]


@folder("Transpose")
def fold_transpose(ctx, arrays):
    return [np.ascontiguousarray(arrays[0].transpose(params.transpose_perm(ctx, arrays[0].ndim)))]


@folder("Concat")
def fold_concat(ctx, arrays):
    present = [a for a in arrays if a is not None]
    axis = params.axis_attr(ctx, present[0].ndim, 1)
    return [np.concatenate(present, axis=axis)]


@folder("Slice")
def fold_slice(ctx, arrays):
    x = arrays[0]
    spec = params.slice_params(ctx, x.shape)
    return [np.ascontiguousarray(x[params.numpy_slices(x.ndim, *spec)])]


@folder("Split")
def fold_split(ctx, arrays):
    axis, sizes = params.split_sizes(ctx, arrays[0].shape)
    return np.split(arrays[0], np.cumsum(sizes)[:-1], axis=axis)


@folder("Gather")
def fold_gather(ctx, arrays):
    data, indices = arrays[0], arrays[1].astype(np.int64)
    axis = params.axis_attr(ctx, data.ndim, 0)
    size = data.shape[axis]
    if np.any((indices < -size) | (indices >= size)):
        raise ctx.shape_error(f"indices out of range for axis {axis} of size {size}")
    return [np.take(data, np.where(indices < 0, indices + size, indices), axis=axis)]


@folder("Expand", static=(1,))
def fold_expand(ctx, arrays):
    x, shape = arrays[0], tuple(int(d) for d in arrays[1].reshape(-1))
    try:
        out = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ctx.shape_error(f"cannot expand {list(x.shape)} to {list(shape)}") from None
    ctx.check_alloc(out, x.dtype)
    return [np.broadcast_to(x, out).copy()]


@folder("Tile", static=(1,))
def fold_tile(ctx, arrays):
    x, reps = arrays[0], tuple(int(r) for r in arrays[1].reshape(-1))
    if len(reps) != x.ndim:
        raise ctx.shape_error(f"{len(reps)} repeats for rank {x.ndim}")
    ctx.check_alloc([d * r for d, r in zip(x.shape, reps)], x.dtype)
    return [np.tile(x, reps)]


@folder("ArgMax", "ArgMin")
def fold_arg_reduce(ctx, arrays):
    cls = ops.ArgMax if ctx.op_type == "ArgMax" else ops.ArgMin
    x = arrays[0]
    op = cls(axis=params.axis_attr(ctx, x.ndim, 0), keepdims=bool(ctx.attr("keepdims", 1)),
             select_last_index=bool(ctx.attr("select_last_index", 0)))
    if x.shape[op.axis] == 0:
        raise ctx.shape_error(f"no extreme value along axis {op.axis} of shape {list(x.shape)}")
    return [op.evaluate(x)]


@folder("Where")
def fold_where(ctx, arrays):
    return [np.where(arrays[0], arrays[1], arrays[2])]


# -- arithmetic ---------------------------------------------------------------------------
def _int_div(a, b):
    """ONNX integer division truncates toward zero (C semantics), unlike numpy's //."""
    if np.any(b == 0):
        raise ZeroDivisionError
    q = np.floor_divide(a, b)
    return q + ((q * b != a) & ((a < 0) ^ (b < 0))).astype(q.dtype)


def _div(a, b):
    if a.dtype.kind in "iu":
        return _int_div(a, b)
    return np.divide(a, b)


def _keep_dtype(fn):
    """Binary numpy ufuncs may promote (int32 + int64 scalars ...): keep ONNX's type."""
    def run(a, b):
        with np.errstate(all="ignore"):
            return np.asarray(fn(a, b)).astype(a.dtype, copy=False)
    return run


_BINARY = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _div, "Pow": np.power,
    "Max": np.maximum, "Min": np.minimum, "Sum": np.add,
}
_COMPARE = {
    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
    "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
    "Xor": np.logical_xor,
}
_UNARY = {
    "Neg": np.negative, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
    "Reciprocal": np.reciprocal, "Sign": np.sign, "Round": np.round, "Not": np.logical_not,
    "Relu": lambda x: np.maximum(x, np.zeros((), x.dtype)),
}


def _binary_folder(op_type, fn):
    def run(ctx, arrays):
        present = [a for a in arrays if a is not None]
        if len(present) == 2:
            present[1] = present[1].reshape(params.legacy_broadcast(ctx, present[0].shape,
                                                                    present[1].shape))
        try:
            return [functools.reduce(_keep_dtype(fn), present)]
        except ZeroDivisionError:
            raise ctx.shape_error("integer division by zero in a constant expression") from None
    folder(op_type)(run)


for _op, _fn in _BINARY.items():
    _binary_folder(_op, _fn)


@folder("Mean")
def fold_mean(ctx, arrays):
    present = [a for a in arrays if a is not None]
    return [(functools.reduce(np.add, present) / len(present)).astype(present[0].dtype)]


@folder("Mod")
def fold_mod(ctx, arrays):
    a, b = arrays
    if a.dtype.kind in "iu" and np.any(b == 0):
        raise ctx.shape_error("integer modulo by zero in a constant expression")
    fn = np.fmod if ctx.attr("fmod", 0) else np.mod
    return [fn(a, b).astype(a.dtype)]


for _op, _fn in _COMPARE.items():
    folder(_op)(lambda ctx, arrays, _fn=_fn: [np.asarray(_fn(arrays[0], arrays[1]))])

for _op, _fn in _UNARY.items():
    folder(_op)(lambda ctx, arrays, _fn=_fn: [np.asarray(_fn(arrays[0])).astype(arrays[0].dtype)])
