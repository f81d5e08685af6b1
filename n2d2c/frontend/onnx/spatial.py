"""Helpers shared by the windowed ops (Conv, ConvTranspose, pooling).

The IR only has 2-D windowed ops, so 1-D ones are lifted: [N, C, L] becomes
[N, C, 1, L], the op runs with a window of height 1, and the result is reshaped
back.  ``pads`` leave here as (top, left, bottom, right).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...ir.ops import Reshape
from ...ir.graph import Value


def reshaped(ctx, i: int, shape: Sequence[int], suffix: str) -> Value:
    """Input ``i`` with a new shape: a new constant if it is one, else a reshape op."""
    shape = tuple(int(d) for d in shape)
    if tuple(ctx.shape(i)) == shape:
        return ctx.value(i)
    if ctx.is_const(i):
        if ctx.const(i).dtype != np.float32:
            ctx.value(i)  # raises the float32-only error
        return ctx.constant(ctx.const(i).reshape(shape), suffix)
    return ctx.emit(Reshape(shape=shape), [ctx.value(i)], suffix=suffix, outputs=None).output


def reshape_value(ctx, value: Value, shape: Sequence[int], suffix: str,
                  output: int | None = None) -> Value:
    """Reshape a run-time value; ``output`` makes it the node's ONNX result of that index."""
    return ctx.emit(Reshape(shape=tuple(int(d) for d in shape)), [value], suffix=suffix,
                    outputs=output).output


def window_params(ctx, in_sizes: Sequence[int], kernel: Sequence[int]):
    """(strides, dilations, pad begins, pad ends) after resolving ``auto_pad``."""
    n = len(kernel)
    strides = ctx.ints("strides") or (1,) * n
    dilations = ctx.ints("dilations") or (1,) * n
    if len(strides) != n or len(dilations) != n:
        raise ctx.shape_error(f"strides {list(strides)} / dilations {list(dilations)} "
                              f"do not match a {n}-D window")
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
            out = math.ceil(size / s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small, large = total // 2, total - total // 2
            # An odd total puts the extra cell at the end (UPPER) or the start (LOWER).
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        return strides, dilations, tuple(begins), tuple(ends)
    if auto_pad == "VALID":
        return strides, dilations, (0,) * n, (0,) * n
    if auto_pad not in ("NOTSET", ""):
        raise ctx.unsupported(f"auto_pad {auto_pad!r}")
    pads = ctx.ints("pads") or (0,) * (2 * n)
    if len(pads) != 2 * n:
        raise ctx.shape_error(f"{len(pads)} pads for a {n}-D window")
    return strides, dilations, tuple(pads[:n]), tuple(pads[n:])


def spatial_rank(ctx, rank: int, what: str) -> int:
    """Number of spatial axes of an NC... tensor; only 1 and 2 are supported."""
    n = rank - 2
    if n not in (1, 2):
        raise ctx.unsupported(f"{n}-D {what} is not supported (only 1-D and 2-D)")
    return n


def as_2d(values: Sequence[int], fill: int) -> tuple[int, ...]:
    """A 1-D parameter list widened with the value of the new leading (height) axis."""
    return tuple(values) if len(values) == 2 else (fill, *values)


def pads_2d(begins: Sequence[int], ends: Sequence[int]) -> tuple[int, int, int, int]:
    b, e = as_2d(begins, 0), as_2d(ends, 0)
    return (b[0], b[1], e[0], e[1])


def lift_input(ctx, i: int) -> Value:
    """[N, C, L] -> [N, C, 1, L]; 4-D inputs pass through."""
    shape = ctx.shape(i)
    if len(shape) == 4:
        return ctx.value(i)
    return reshaped(ctx, i, (*shape[:2], 1, *shape[2:]), f"in{i}" if i else "in")


def finish(ctx, op, inputs: Sequence[Value], lifted: bool) -> None:
    """Emit the 2-D op; a lifted 1-D op gets its result reshaped back to 3-D."""
    if not lifted:
        ctx.emit(op, inputs)
        return
    result = ctx.emit(op, inputs, outputs=None).output
    n, c, _, w = result.shape
    reshape_value(ctx, result, (n, c, w), "out", output=0)
