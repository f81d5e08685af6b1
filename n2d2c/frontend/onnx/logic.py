"""Comparisons, And/Or/Xor/Not, Where, Cast/CastLike, Sign and ArgMax/ArgMin on run-time
tensors (ir/ops/logic.py).  With all inputs constant they fold instead (folding.py).

Their operands are often boolean or integer constants (``Equal(mask, 0)``,
``Where(c, x, -inf)``), which the generic ``ctx.value`` refuses because arithmetic
ops compute float32 only; here any element type the IR has is taken as it is.
"""

from __future__ import annotations

import numpy as np

from ...ir import DType, ops
from ...ir.ops.shape import Reshape
from . import params
from .registry import converter


def _ir_dtype(ctx, dtype: np.dtype) -> DType:
    try:
        return DType.from_numpy(dtype)
    except KeyError:
        supported = ", ".join(d.numpy.name for d in DType)
        raise ctx.unsupported(f"element type {np.dtype(dtype).name} is not supported "
                              f"(supported: {supported})") from None


def _operand(ctx, i: int, shape: tuple[int, ...] | None = None):
    """Input ``i`` as an IR value of its own element type, optionally reshaped."""
    array = ctx.const(i)
    if array is None or array.dtype == np.float32:
        value = ctx.value(i)
        if shape is None or value.shape == shape:
            return value
        return ctx.emit(Reshape(shape=shape), [value], suffix=f"in{i}", outputs=None).output
    _ir_dtype(ctx, array.dtype)
    return ctx.constant(array if shape is None else array.reshape(shape), f"in{i}")


_BINARY = {"Equal": ops.Equal, "Less": ops.Less, "Greater": ops.Greater,
           "LessOrEqual": ops.LessOrEqual, "GreaterOrEqual": ops.GreaterOrEqual,
           "And": ops.And, "Or": ops.Or, "Xor": ops.Xor}


@converter(*_BINARY, any_dtype=True)
def convert_compare(ctx):
    # Before opset 7 these took ``broadcast``/``axis`` like Add (params.legacy_broadcast).
    b_shape = params.legacy_broadcast(ctx, ctx.shape(0), ctx.shape(1))
    ctx.emit(_BINARY[ctx.op_type](), [_operand(ctx, 0), _operand(ctx, 1, b_shape)])


@converter("Not", any_dtype=True)
def convert_not(ctx):
    ctx.emit(ops.Not(), [_operand(ctx, 0)])


@converter("Sign", any_dtype=True)
def convert_sign(ctx):
    ctx.emit(ops.Sign(), [_operand(ctx, 0)])


@converter("Where", any_dtype=True)
def convert_where(ctx):
    ctx.emit(ops.Where(), [_operand(ctx, i) for i in range(3)])


@converter("Cast", "CastLike", any_dtype=True)
def convert_cast(ctx):
    if ctx.op_type == "Cast":
        target = _ir_dtype(ctx, params.as_numpy_dtype(ctx, int(ctx.attr("to", 0))))
    elif ctx.is_const(1):
        target = _ir_dtype(ctx, ctx.declared_dtype(1))
    else:
        target = ctx.value(1).type.dtype
    x = _operand(ctx, 0)
    if x.type.dtype is target:
        ctx.emit(ops.Identity(), [x])  # exporters emit such no-op casts
    else:
        ctx.emit(ops.Cast(dtype=target.value), [x])


@converter("ArgMax", "ArgMin", any_dtype=True)
def convert_arg_reduce(ctx):
    cls = ops.ArgMax if ctx.op_type == "ArgMax" else ops.ArgMin
    op = cls(axis=params.axis_attr(ctx, ctx.rank(0), 0), keepdims=bool(ctx.attr("keepdims", 1)),
             select_last_index=bool(ctx.attr("select_last_index", 0)))
    ctx.emit(op, [_operand(ctx, 0)])

