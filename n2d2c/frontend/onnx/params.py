"""Opset-aware reading of the parameters of shape ops.

Several ONNX ops moved attributes to inputs over the opsets (Slice at 10, Pad at
11, Squeeze/Unsqueeze/Split/ReduceSum at 13, the other reductions at 18).  These
functions read either form and return normalised, static Python values; both
the folders (numpy) and the converters (IR ops) use them, so the two paths
cannot disagree.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def normalize_axes(ctx, axes: Sequence[int], rank: int, what: str = "axes") -> tuple[int, ...]:
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ctx.shape_error(f"{what} {list(axes)} out of range for rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ctx.shape_error(f"{what} {list(axes)} repeat an axis")
    return tuple(out)


def axis_attr(ctx, rank: int, default: int, key: str = "axis") -> int:
    return normalize_axes(ctx, [int(ctx.attr(key, default))], rank, key)[0]


def legacy_broadcast(ctx, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Shape to give B so that numpy broadcasting does what opset < 7 meant.

    Before opset 7, Add/Sub/Mul/Div/Gemm broadcast only with ``broadcast=1``,
    aligning B with A starting at ``axis`` (default: the trailing axes).
    """
    if ctx.opset >= 7 or not ctx.attr("broadcast", 0) or a == b:
        return b
    axis = ctx.attr("axis")
    if axis is None:
        return b
    axis = axis + len(a) if axis < 0 else axis
    if axis + len(b) > len(a):
        raise ctx.shape_error(f"cannot broadcast {list(b)} into {list(a)} at axis {axis}")
    return b + (1,) * (len(a) - axis - len(b))


def transpose_perm(ctx, rank: int) -> tuple[int, ...]:
    perm = ctx.ints("perm") or tuple(reversed(range(rank)))
    if sorted(perm) != list(range(rank)):
        raise ctx.shape_error(f"perm {list(perm)} is not a permutation of rank {rank}")
    return perm


def reshape_target(ctx, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve the 0 (copy) and -1 (infer) entries of Reshape's target shape."""
    if ctx.opset < 5:
        target = list(ctx.ints("shape", ()))
    else:
        target = list(ctx.static_ints(1, "shape"))
    allowzero = bool(ctx.attr("allowzero", 0))
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(shape):
                raise ctx.shape_error(f"target {target} copies axis {i} of a "
                                      f"rank-{len(shape)} input")
            target[i] = shape[i]
    size = math.prod(shape)
    if target.count(-1) > 1 or any(d < -1 for d in target):
        raise ctx.shape_error(f"bad target shape {target}")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        if known == 0 or size % known:
            raise ctx.shape_error(f"cannot reshape {list(shape)} to {target}")
        target[target.index(-1)] = size // known
    if math.prod(target) != size:
        raise ctx.shape_error(f"cannot reshape {list(shape)} ({size} elements) to {target}")
    return tuple(target)


def flatten_shape(ctx, shape: tuple[int, ...]) -> tuple[int, int]:
    rank = len(shape)
    axis = int(ctx.attr("axis", 1))
    if not -rank <= axis <= rank:
        raise ctx.shape_error(f"axis {axis} out of range for rank {rank}")
    if axis < 0:
        axis += rank
    return math.prod(shape[:axis]), math.prod(shape[axis:])


def _axes_list(ctx, since: int, what: str = "axes") -> tuple[int, ...] | None:
    """Axes from the attribute (before opset ``since``) or the optional input 1."""
    if ctx.opset < since:
        return ctx.ints("axes")
    if ctx.has(1):
        return ctx.static_ints(1, what)
    return None


def squeeze_shape(ctx, shape: tuple[int, ...]) -> tuple[int, ...]:
    axes = _axes_list(ctx, 13)
    if axes is None:
        return tuple(d for d in shape if d != 1)
    axes = normalize_axes(ctx, axes, len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ctx.shape_error(f"cannot squeeze axis {a} of size {shape[a]} in {list(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def unsqueeze_shape(ctx, shape: tuple[int, ...]) -> tuple[int, ...]:
    axes = _axes_list(ctx, 13)
    if axes is None:
        raise ctx.shape_error("Unsqueeze needs axes")
    rank = len(shape) + len(axes)
    axes = normalize_axes(ctx, axes, rank)
    rest = iter(shape)
    return tuple(1 if i in axes else next(rest) for i in range(rank))


def reduce_axes(ctx, rank: int) -> tuple[tuple[int, ...] | None, bool]:
    """(axes, keepdims) of a Reduce* node; axes None means 'no reduction at all'."""
    since = 13 if ctx.op_type == "ReduceSum" else 18
    axes = _axes_list(ctx, since)
    keepdims = bool(ctx.attr("keepdims", 1))
    if not axes:
        if ctx.opset >= since and ctx.attr("noop_with_empty_axes", 0):
            return None, keepdims
        return tuple(range(rank)), keepdims
    return tuple(sorted(normalize_axes(ctx, axes, rank))), keepdims


def slice_params(ctx, shape: tuple[int, ...]):
    """(axes, starts, ends, steps) with ONNX clamping applied.

    ``end == -1`` with a negative step means "through index 0", the IR's
    convention for a slice that runs off the front of the axis.
    """
    rank = len(shape)
    if ctx.opset < 10:
        starts, ends = ctx.ints("starts", ()), ctx.ints("ends", ())
        axes, steps = ctx.ints("axes"), None
    else:
        starts = ctx.static_ints(1, "starts")
        ends = ctx.static_ints(2, "ends")
        axes = ctx.static_ints(3, "axes") if ctx.has(3) else None
        steps = ctx.static_ints(4, "steps") if ctx.has(4) else None
    if axes is None:
        axes = tuple(range(len(starts)))
    if steps is None:
        steps = (1,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ctx.shape_error("starts, ends, axes and steps differ in length")
    axes = normalize_axes(ctx, axes, rank)
    out_starts, out_ends = [], []
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if step == 0:
            raise ctx.shape_error("slice step 0")
        d = shape[axis]
        start = start + d if start < 0 else start
        end = end + d if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), d), min(max(end, 0), d)
        else:
            start, end = min(max(start, 0), d - 1), min(max(end, -1), d - 1)
        out_starts.append(start)
        out_ends.append(end)
    return tuple(axes), tuple(out_starts), tuple(out_ends), tuple(int(s) for s in steps)


def numpy_slices(rank, axes, starts, ends, steps) -> tuple[slice, ...]:
    out = [slice(None)] * rank
    for axis, start, end, step in zip(axes, starts, ends, steps):
        out[axis] = slice(start, None if end < 0 else end, step)
    return tuple(out)


def split_sizes(ctx, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    axis = axis_attr(ctx, len(shape), 0)
    if ctx.opset < 13:
        sizes = ctx.ints("split")
        if sizes is None and ctx.has(1):  # Split-1 took the sizes as an input too
            sizes = ctx.static_ints(1, "split")
    else:
        sizes = ctx.static_ints(1, "split") if ctx.has(1) else None
    d = shape[axis]
    if sizes is None:
        n = int(ctx.attr("num_outputs", len(ctx.node.output)))
        chunk = -(-d // n)
        sizes = (d // n,) * n if d % n == 0 else (chunk,) * (n - 1) + (d - chunk * (n - 1),)
    if sum(sizes) != d or any(s < 0 for s in sizes) or len(sizes) != len(ctx.node.output):
        raise ctx.shape_error(f"split sizes {list(sizes)} do not cut axis {axis} of size {d} "
                              f"into {len(ctx.node.output)} parts")
    return axis, tuple(sizes)


def pad_params(ctx, rank: int) -> tuple[tuple[int, ...], str, float]:
    """(pads for every axis, begins then ends; mode; constant value)."""
    mode = ctx.attr("mode", "constant")
    if ctx.opset < 11:
        pads = ctx.ints("pads") or ctx.ints("paddings") or ()
        value = float(ctx.attr("value", 0.0))
        axes = tuple(range(rank))
    else:
        pads = ctx.static_ints(1, "pads")
        value = ctx.static_scalar(2, "constant_value") if ctx.has(2) else 0.0
        axes = ctx.static_ints(3, "axes") if ctx.has(3) else tuple(range(rank))
        axes = normalize_axes(ctx, axes, rank)
    if len(pads) != 2 * len(axes):
        raise ctx.shape_error(f"{len(pads)} pads for {len(axes)} axes")
    full = [0] * (2 * rank)
    for i, axis in enumerate(axes):
        full[axis] = pads[i]
        full[axis + rank] = pads[i + len(axes)]
    return tuple(full), mode, value


def as_numpy_dtype(ctx, onnx_type: int) -> np.dtype:
    """numpy dtype of an ONNX element type; exotic ones (bfloat16, float8 ...) are refused."""
    from onnx import TensorProto
    table = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64,
             TensorProto.FLOAT16: np.float16, TensorProto.INT8: np.int8,
             TensorProto.INT16: np.int16, TensorProto.INT32: np.int32,
             TensorProto.INT64: np.int64, TensorProto.UINT8: np.uint8,
             TensorProto.UINT16: np.uint16, TensorProto.UINT32: np.uint32,
             TensorProto.UINT64: np.uint64, TensorProto.BOOL: np.bool_}
    if onnx_type not in table:
        name = TensorProto.DataType.Name(onnx_type) if onnx_type in TensorProto.DataType.values() \
            else str(onnx_type)
        raise ctx.unsupported(f"element type {name} is not supported")
    return np.dtype(table[onnx_type])
