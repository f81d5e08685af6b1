"""``lookup``: a unary function of an 8-bit integer tensor as a table of its 256 results.

An 8-bit operand has only 256 possible values, so any element-wise function of
it (sigmoid, tanh, hard-swish, exp, ``x * c``...) followed by a requantization
is exactly a table computed once, at compile time, by the quantizer::

    table[q - dtype_min(x)] = quantize(f(dequantize(q, input_scale, input_zero_point)),
                                       output_scale, output_zero_point, dtype(table))

(``quantize``/``dequantize`` as in ``quant.py``).  The op itself only says
``y = table[x - dtype_min(x)]`` element by element, so every backend that indexes
the same table is bit-exact with every other by construction.

Operands: ``x`` (i8 or u8) and ``table``, a 1-D constant of 256 integers whose
element type is the result's.  The attributes describe how the table was made,
for readers and exporters (the ONNX QDQ form needs the output scale); they do
not enter the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..graph import Operation
from ..integer import dtype_bounds
from ..types import DType
from .registry import register_op

#: Operand element types a table can be indexed by: every value has an entry.
LOOKUP_INPUTS = (DType.I8, DType.U8)


@register_op
@dataclass(eq=False, kw_only=True)
class Lookup(Operation):
    """``y = table[x - dtype_min(x)]`` (module doc)."""

    OP_NAME = "lookup"
    ARITY = (2, 2)

    function: str = ""             # the float op the table was computed from ("sigmoid")
    input_scale: float = 0.0       # the real value of one step of x (0: not recorded)
    input_zero_point: int = 0
    output_scale: float = 0.0      # the real value of one step of y (0: not recorded)
    output_zero_point: int = 0

    def infer(self, types):
        x, table = types
        if x.dtype not in LOOKUP_INPUTS:
            raise self.error(f"indexes a table by an i8 or u8 operand, got {x.dtype.value}")
        entries = 1 << (8 * x.dtype.itemsize)
        if table.shape != (entries,):
            raise self.error(f"the table must be 1-D with {entries} entries (one per "
                             f"{x.dtype.value} value), got {list(table.shape)}")
        if not table.dtype.is_integer:
            raise self.error(f"the table must hold integers, got {table.dtype.value}")
        for name in ("input_scale", "output_scale"):
            scale = getattr(self, name)
            if not (math.isfinite(scale) and scale >= 0):
                raise self.error(f"{name} must be finite and >= 0, got {scale}")
        for name, dtype in (("input_zero_point", x.dtype), ("output_zero_point", table.dtype)):
            lo, hi = dtype_bounds(dtype)
            if not lo <= getattr(self, name) <= hi:
                raise self.error(f"{name} {getattr(self, name)} is outside [{lo}, {hi}]")
        return [x.with_dtype(table.dtype)]

    def offset(self) -> int:
        """What the kernels add to ``x`` to get the table index: ``-dtype_min(x)``."""
        return -dtype_bounds(self.inputs[0].type.dtype)[0]
