"""``int_softmax``: softmax of an 8-bit integer tensor in integer arithmetic.

Softmax is invariant to a shift of its operand, and along a row of 8-bit levels
``q`` the shifted operand ``d = q - max(q)`` takes one of only 256 values, so
``exp(s * d)`` (``s`` the input scale) is a table of 256 fixed-point numbers
computed once, at compile time (``softmax_table``)::

    m      = max(q)                          along ``axis``
    e[j]   = table[m - q[j]]                 table[i] = round(2**16 * exp(-s * i))
    sum    = e[0] + e[1] + ...               int32: n * 2**16 < 2**31 (MAX_ROW)
    y[j]   = (2 * levels * e[j] + sum) // (2 * sum)       integer result (int64)
    y[j]   = float32(e[j]) / float32(sum)                 float result

Every step is integer arithmetic or one correctly rounded float32 division of
exactly converted operands, so every backend that follows it is bit-exact with
every other.  An integer result is ``e / sum`` rounded half up to ``levels``
steps (its real value is ``y / levels``: ``output_scale``).  A table whose first
entry is 0 (never one ``softmax_table`` writes) would make ``sum`` 0; it then
divides by 1.

Operands: ``x`` (i8 or u8) and ``table``, a 1-D int32 constant of 256 entries in
``[0, 2**16]``.  ``dtype`` is the result's: ``"f32"`` (a graph output keeps the
float type the model declares) or ``"u8"``/``"i8"`` (read by further integer
layers).  ``input_scale`` records how the table was made, for readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import Operation
from ..integer import dtype_bounds
from ..types import DType
from .lookup import LOOKUP_INPUTS
from .registry import register_op
from .shape_rules import normalize_axis

#: Fraction bits of the table entries: exp(0) is 2**16.
TABLE_BITS = 16
#: The longest row whose sum of entries (each at most 2**TABLE_BITS) fits an int32.
MAX_ROW = ((1 << 31) - 1) >> TABLE_BITS
#: Result types: float32, or 8-bit levels.
RESULT_DTYPES = {"f32": DType.F32, "u8": DType.U8, "i8": DType.I8}


def softmax_table(scale: float) -> np.ndarray:
    """``round(2**16 * exp(-scale * i))`` for i = 0..255 (int32), computed in float64."""
    i = np.arange(256, dtype=np.float64)
    return np.floor(np.exp(-float(scale) * i) * (1 << TABLE_BITS) + 0.5).astype(np.int32)


@register_op
@dataclass(eq=False, kw_only=True)
class IntSoftmax(Operation):
    """Softmax of 8-bit levels by a fixed-point exp table (module doc)."""

    OP_NAME = "int_softmax"
    ARITY = (2, 2)

    axis: int = -1
    dtype: str = "f32"            # the result's type: "f32", "u8" or "i8"
    levels: int = 0               # integer results: the level of probability 1
    input_scale: float = 0.0      # the real value of one step of x (0: not recorded)
    output_scale: float = 0.0     # integer results: 1 / levels (0: not recorded)

    def infer(self, types):
        x, table = types
        if x.dtype not in LOOKUP_INPUTS:
            raise self.error(f"reads an i8 or u8 operand, got {x.dtype.value}")
        if table.shape != (256,) or table.dtype is not DType.I32:
            raise self.error(f"the table must be 256 int32 entries, got "
                             f"{list(table.shape)} {table.dtype.value}")
        if not x.rank:
            raise self.error("needs an operand with at least one axis")
        axis = normalize_axis(self, self.axis, x.rank)
        if x.shape[axis] > MAX_ROW:
            raise self.error(f"rows of {x.shape[axis]} elements are longer than {MAX_ROW}: "
                             f"their sum would overflow an int32")
        result = RESULT_DTYPES.get(self.dtype)
        if result is None:
            raise self.error(f"dtype {self.dtype!r} is not one of {sorted(RESULT_DTYPES)}")
        if result.is_integer and not 0 < self.levels <= dtype_bounds(result)[1]:
            raise self.error(f"levels {self.levels} is outside [1, {dtype_bounds(result)[1]}]")
        for name in ("input_scale", "output_scale"):
            scale = getattr(self, name)
            if not (math.isfinite(scale) and scale >= 0):
                raise self.error(f"{name} must be finite and >= 0, got {scale}")
        return [x.with_dtype(result)]

    def row_axis(self) -> int:
        """``axis`` as a non-negative axis of the operand."""
        return normalize_axis(self, self.axis, self.inputs[0].type.rank)
