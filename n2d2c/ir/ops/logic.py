"""Comparisons, boolean logic, selection, casts, Sign and ArgMax/ArgMin on run-time
tensors: the mask arithmetic of attention blocks (``Where(Equal(mask, 0), -inf, s)``).

Booleans are ``i1`` tensors (one byte each in every backend).  Comparisons take two
operands of one element type and give ``i1``; And/Or/Xor/Not take and give ``i1``;
``where`` selects between two operands of one type; ``cast`` is the only op that
changes a non-boolean element type; ArgMax/ArgMin give ``i64`` indices (ONNX).
Broadcasting is numpy's (ONNX's multidirectional broadcasting) throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..graph import Operation
from ..types import DType
from .elementwise import UnaryOp
from .registry import op_family_member, register_op
from .shape_rules import broadcast_shapes, normalize_axis

DTYPE_NAMES = tuple(d.value for d in DType)


def _same_dtype(op: Operation, types) -> None:
    if len({t.dtype for t in types}) > 1:
        raise op.error("operand element types differ: "
                       + " vs ".join(t.dtype.value for t in types))


def _broadcast(op: Operation, types, dtype: DType):
    return types[0].with_shape(broadcast_shapes(op, [t.shape for t in types])).with_dtype(dtype)


@register_op
@dataclass(eq=False, kw_only=True)
class Cast(Operation):
    """Convert every element to ``dtype`` (the textual IR's spelling: f32, i64, i1 ...).

    Float to integer truncates toward zero (C and onnxruntime; out-of-range values are
    undefined, as in ONNX); anything to ``i1`` is ``x != 0`` (NaN is true); ``i1`` to a
    number is 0 or 1; to ``f16`` rounds to nearest even."""

    OP_NAME = "cast"

    dtype: str = "f32"

    @property
    def target(self) -> DType:
        return DType(self.dtype)

    def infer(self, types):
        if self.dtype not in DTYPE_NAMES:
            raise self.error(f"dtype {self.dtype!r} is not one of {list(DTYPE_NAMES)}")
        return [types[0].with_dtype(self.target)]


class Compare(Operation):
    """``a <op> b`` element-wise with broadcasting: i1 from two operands of one type."""

    ARITY = (2, 2)

    def infer(self, types):
        _same_dtype(self, types)
        return [_broadcast(self, types, DType.BOOL)]


class Logical(Operation):
    """Boolean algebra on i1 operands (broadcasting when binary)."""

    ARITY = (2, 2)

    def infer(self, types):
        for t in types:
            if t.dtype is not DType.BOOL:
                raise self.error(f"takes i1 (boolean) operands, not {t.dtype.value}")
        return [_broadcast(self, types, DType.BOOL)]


def _family(base: type, class_name: str, op_name: str, doc: str, **extra) -> type:
    return op_family_member(base, class_name, op_name, doc, __name__, **extra)


Equal = _family(Compare, "Equal", "equal", "a == b (NaN equals nothing).")
Less = _family(Compare, "Less", "less", "a < b.")
Greater = _family(Compare, "Greater", "greater", "a > b.")
LessOrEqual = _family(Compare, "LessOrEqual", "less_equal", "a <= b.")
GreaterOrEqual = _family(Compare, "GreaterOrEqual", "greater_equal", "a >= b.")
And = _family(Logical, "And", "and", "a and b.")
Or = _family(Logical, "Or", "or", "a or b.")
Xor = _family(Logical, "Xor", "xor", "a != b on booleans.")
Not = _family(Logical, "Not", "not", "not a.", ARITY=(1, 1))


@register_op
@dataclass(eq=False, kw_only=True)
class Where(Operation):
    """``cond ? x : y`` element-wise, the three operands broadcast together."""

    OP_NAME = "where"
    ARITY = (3, 3)

    def infer(self, types):
        cond, x, y = types
        if cond.dtype is not DType.BOOL:
            raise self.error(f"the condition must be i1 (boolean), not {cond.dtype.value}")
        _same_dtype(self, (x, y))
        return [_broadcast(self, types, x.dtype)]


@register_op
@dataclass(eq=False, kw_only=True)
class Sign(UnaryOp):
    """-1, 0 or 1 by the sign of x, in x's type (NaN stays NaN); not for booleans."""

    OP_NAME = "sign"

    def infer(self, types):
        if types[0].dtype is DType.BOOL:
            raise self.error("takes a number, not i1")
        return [types[0]]


@dataclass(eq=False, kw_only=True)
class ArgReduce(Operation):
    """The i64 index of the extreme value along ``axis`` (the first one, or the last
    with ``select_last_index``); ``keepdims`` keeps the axis with length 1."""

    LARGEST: ClassVar[bool] = True

    axis: int = 0
    keepdims: bool = True
    select_last_index: bool = False

    def resolved_axis(self, rank: int) -> int:
        return normalize_axis(self, self.axis, rank)

    def infer(self, types):
        x = types[0]
        if x.dtype is DType.BOOL:
            raise self.error("takes numbers, not i1")
        if x.rank == 0:
            raise self.error("needs a tensor of rank >= 1")
        axis = self.resolved_axis(x.rank)
        if x.shape[axis] == 0:
            raise self.error(f"axis {axis} is empty: there is no extreme value")
        keep = (1,) if self.keepdims else ()
        shape = x.shape[:axis] + keep + x.shape[axis + 1:]
        return [x.with_shape(shape).with_dtype(DType.I64)]

    def evaluate(self, x: np.ndarray, xp=np) -> np.ndarray:
        """The reference shared by the simulator, the array/GPU simulator (``xp``: numpy
        or cupy), fold-constants and the ONNX frontend's folder (one tie rule for all)."""
        axis = self.resolved_axis(x.ndim)
        pick = xp.argmax if self.LARGEST else xp.argmin
        if self.select_last_index:
            # The first extreme of the reversed axis is the last one of the original.
            index = x.shape[axis] - 1 - pick(xp.flip(x, axis), axis=axis)
        else:
            index = pick(x, axis=axis)
        index = xp.asarray(index, xp.int64)
        return xp.expand_dims(index, axis) if self.keepdims else index


ArgMax = _family(ArgReduce, "ArgMax", "argmax", "Index of the largest value.", LARGEST=True)
ArgMin = _family(ArgReduce, "ArgMin", "argmin", "Index of the smallest value.", LARGEST=False)

COMPARISONS = (Equal, Less, Greater, LessOrEqual, GreaterOrEqual)
LOGICAL = (And, Or, Xor, Not)
ARG_REDUCTIONS = (ArgMax, ArgMin)
