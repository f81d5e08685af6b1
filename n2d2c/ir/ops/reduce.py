"""Reductions of a float tensor over some of its axes: ONNX's ReduceMean, ReduceSum,
ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum
and ReduceLogSumExp.

One family: every op has the attributes ``axes`` (empty: every axis) and ``keepdims``
and the same shape rule; they differ only in their ``KIND``, which names the arithmetic
(``reduce_reference`` below for numpy; ``reduce_*`` macros of the C backends' spelling.j2
for C: an initial value, a step and a finishing function).  The IR class name is the
ONNX op type.  ``noop_with_empty_axes`` has no IR form: the frontend imports it as an
identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..graph import Operation
from .registry import op_family_member
from .shape_rules import normalize_axis


@dataclass(eq=False, kw_only=True)
class Reduce(Operation):
    """Base of the reductions (not registered itself)."""

    KIND: ClassVar[str] = ""

    axes: tuple[int, ...] = ()
    keepdims: bool = True

    def reduced_axes(self, rank: int) -> tuple[int, ...]:
        """The reduced axes, non-negative and sorted (every axis when ``axes`` is empty)."""
        if not self.axes:
            return tuple(range(rank))
        axes = {normalize_axis(self, a, rank) for a in self.axes}
        if len(axes) != len(self.axes):
            raise self.error(f"axes {list(self.axes)} repeat an axis")
        return tuple(sorted(axes))

    def infer(self, types):
        x = types[0]
        if not x.dtype.is_float:
            raise self.error(f"takes a float tensor, not {x.dtype.value}")
        axes = self.reduced_axes(x.rank)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)
                 if self.keepdims or i not in axes]
        return [x.with_shape(shape)]


def _reduction(class_name: str, kind: str, doc: str) -> type:
    return op_family_member(Reduce, class_name, f"reduce_{kind}", doc, __name__, KIND=kind)


ReduceMean = _reduction("ReduceMean", "mean", "Arithmetic mean.")
ReduceSum = _reduction("ReduceSum", "sum", "Sum (0 over an empty set).")
ReduceMax = _reduction("ReduceMax", "max", "Maximum (-inf over an empty set).")
ReduceMin = _reduction("ReduceMin", "min", "Minimum (+inf over an empty set).")
ReduceProd = _reduction("ReduceProd", "prod", "Product (1 over an empty set).")
ReduceL1 = _reduction("ReduceL1", "l1", "Sum of absolute values.")
ReduceL2 = _reduction("ReduceL2", "l2", "Euclidean norm: sqrt of the sum of squares.")
ReduceSumSquare = _reduction("ReduceSumSquare", "sum_square", "Sum of squares.")
ReduceLogSum = _reduction("ReduceLogSum", "log_sum", "log of the sum.")
ReduceLogSumExp = _reduction("ReduceLogSumExp", "log_sum_exp",
                             "log(sum(exp(x))), computed without overflow.")

REDUCTIONS = (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
              ReduceSumSquare, ReduceLogSum, ReduceLogSumExp)
BY_KIND = {cls.KIND: cls for cls in REDUCTIONS}


def _log_sum_exp(x, axis, keepdims):
    # max-shifted; a slice of all -inf (or an empty one) has shift 0, not -inf - -inf.
    top = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.sum(np.exp(x - top), axis=axis, keepdims=True)
    out = np.log(total) + top
    return out if keepdims else np.squeeze(out, axis=axis)


_NUMPY = {
    "mean": lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    "sum": lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    "max": lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims,
                                            initial=_lowest(x.dtype)),
    "min": lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims,
                                            initial=_highest(x.dtype)),
    "prod": lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    "l1": lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
    "l2": lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
    "sum_square": lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims),
    "log_sum": lambda x, axis, keepdims: np.log(np.sum(x, axis=axis, keepdims=keepdims)),
    "log_sum_exp": _log_sum_exp,
}


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max


def reduce_reference(kind: str, x: np.ndarray, axes: tuple[int, ...], keepdims: bool):
    """``kind`` of ``x`` over ``axes`` (non-negative) with numpy: floats in float64
    (the caller rounds), integers in int64 (exact; the import-time folding of shape
    arithmetic).  One definition for the simulator, constant folding and import-time
    folding, so that they cannot disagree on empty sets, infinities or NaN."""
    x = np.asarray(x)
    x = x.astype(np.float64 if x.dtype.kind == "f" else np.int64, copy=False)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(_NUMPY[kind](x, tuple(axes), keepdims))
