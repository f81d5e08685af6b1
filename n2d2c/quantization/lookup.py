"""Element-wise functions of 8-bit integers as 256-entry tables (the IR ``lookup`` op).

A float op that is a function of one 8-bit integer activation alone (sigmoid,
tanh, hard-swish, exp, ``x * c``, ``x ** 2``...) has at most 256 distinct
results.  Instead of ``dequantize -> f -> quantize`` the quantizer evaluates
``f`` once on every dequantized level, with the simulator's own float kernel of
the op, and quantizes the results with ``integer.quantize`` (the ``quantize``
op's rounding), so the table is exactly what the float island would compute.

Ops that already run on integers (Relu, Clip, Max/Min with a constant: PASS_OPS)
keep their kernels; the planner asks them first.
"""

from __future__ import annotations

import numpy as np

from ..ir import Operation
from ..ir import integer
from ..ir import ops as O
from ..runtime.registry import find_kernel
from .levels import QSpec

#: Functions of their one operand.
UNARY_OPS = (O.Sigmoid, O.Tanh, O.HardSigmoid, O.HardSwish, O.Swish, O.Mish, O.Softplus,
             O.LeakyRelu, *O.UNARY_MATH)
#: Element-wise ops of two operands: a function of one when the other is a scalar constant.
BINARY_OPS = (O.Add, O.Sub, O.Mul, O.Div, O.Pow, O.PRelu, O.Max, O.Min)


def table_ops() -> tuple[type[Operation], ...]:
    """The op classes a table may replace; an IR ``Gelu`` joins when the IR has one."""
    gelu = getattr(O, "Gelu", None)
    return UNARY_OPS + BINARY_OPS + ((gelu,) if gelu is not None else ())


def lookup_operand(graph, op: Operation) -> int | None:
    """The operand ``op`` is an element-wise function of (its other operands being
    scalar constants), or None when a table cannot replace it."""
    if not isinstance(op, table_ops()) or len(op.outputs) != 1:
        return None
    data = [i for i, v in enumerate(op.inputs) if graph.constant_value(v) is None]
    if len(data) != 1:
        return None
    x = op.inputs[data[0]]
    if not x.type.dtype.is_float or op.output.type != x.type:
        return None  # broadcasting would make one input element several results
    if any(graph.constant_value(v).size != 1 for i, v in enumerate(op.inputs) if i != data[0]):
        return None
    if find_kernel(op) is None:
        return None
    return data[0]


def function_values(graph, op: Operation, data: int, reals: np.ndarray) -> np.ndarray:
    """``op`` evaluated by its float simulator kernel on the f32 values ``reals`` (1-D)."""
    operands = [reals if i == data else
                np.asarray(graph.constant_value(v), dtype=v.type.dtype.numpy)
                for i, v in enumerate(op.inputs)]
    with np.errstate(all="ignore"):  # log(0), 1/0...: quantize saturates infinities
        result = find_kernel(op)(op, *operands)
    return np.asarray(result, dtype=np.float32).reshape(-1)


def input_levels(spec: QSpec) -> np.ndarray:
    """Every value of ``spec``'s 8-bit dtype, in table order (from the dtype's minimum)."""
    lo, hi = integer.dtype_bounds(spec.dtype)
    return np.arange(lo, hi + 1, dtype=np.int64)


def function_table(graph, op: Operation, data: int, x_spec: QSpec,
                   y_spec: QSpec) -> np.ndarray:
    """``quantize(f(dequantize(q)))`` for every level ``q`` of ``x_spec`` (zero points 0,
    as the quantizer writes them), as ``y_spec``'s dtype."""
    reals = integer.dequantize(input_levels(x_spec), x_spec.scale, 0)
    values = function_values(graph, op, data, reals)
    q = integer.quantize(values, y_spec.scale, 0, y_spec.dtype)
    return np.clip(q, y_spec.sat_lo, y_spec.sat_hi).astype(y_spec.dtype.numpy)


def never_negative(graph, op: Operation, data: int, x_spec: QSpec) -> bool:
    """Whether ``op`` gives no negative result on any level of ``x_spec`` (an unsigned
    result then loses nothing)."""
    reals = integer.dequantize(input_levels(x_spec), x_spec.scale, 0)
    values = function_values(graph, op, data, reals)
    return bool(np.all(np.nan_to_num(values, nan=0.0) >= 0))


def lookup_op(op: Operation, x_spec: QSpec, y_spec: QSpec) -> O.Lookup:
    """The IR op that reads the table (its attributes record how it was made)."""
    return O.Lookup(function=op.OP_NAME, input_scale=float(x_spec.scale),
                    output_scale=float(y_spec.scale), name=op.name)
