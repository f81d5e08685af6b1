"""Softmax of 8-bit integer logits in integer arithmetic (the IR ``int_softmax``).

A Softmax whose operand is planned as 8-bit levels reads them directly: the table of
``exp`` is computed for the operand's scale (``ir/ops/int_softmax.py``), so no
dequantize and no float Softmax remain.  Its result keeps the type the model
declares where the model's output is that Softmax (possibly through Identity /
Dropout): float32, computed from the integers.  A Softmax read by further layers
gives 8-bit levels of the probability instead, unsigned unless ``no_unsigned``
(the probability 1 is the top level: scale ``1 / qmax``), a fixed scale no calibration
needs.  Rows longer than ``MAX_ROW`` would overflow the int32 sum: such a Softmax
stays float, and so does a LogSoftmax.
"""

from __future__ import annotations

from ..ir import Operation, Value
from ..ir import ops as O
from ..ir.ops.int_softmax import MAX_ROW
from .levels import QSpec, make_spec

#: Ops through which a Softmax's float result reaches a graph output unchanged.
_FORWARDING = (O.Identity, O.Dropout)


def integer_softmax_fits(op: Operation, x_spec: QSpec, nbbits: int) -> bool:
    """Whether ``op`` is a Softmax an ``int_softmax`` can replace."""
    if not isinstance(op, O.Softmax) or nbbits > 8 or x_spec.dtype.itemsize != 1:
        return False
    x = op.inputs[0].type
    return x.rank > 0 and x.shape[op.axis % x.rank] <= MAX_ROW


def declared_float(graph, v: Value) -> bool:
    """Whether ``v`` is a graph output, or reaches one through forwarding ops only."""
    while not graph.is_output(v):
        users = graph.users(v)
        if len(users) != 1 or not isinstance(users[0][0], _FORWARDING):
            return False
        v = users[0][0].output
    return True


def result_spec(nbbits: int, no_unsigned: bool) -> QSpec:
    """The levels of a probability: [0, 1] onto [0, qmax]."""
    return make_spec(nbbits, not no_unsigned, 1.0)


def softmax_op(op: O.Softmax, x_spec: QSpec, y_spec: QSpec | None) -> O.IntSoftmax:
    """The IR op (``y_spec`` None: a float32 result)."""
    if y_spec is None:
        return O.IntSoftmax(axis=op.axis, dtype="f32", input_scale=float(x_spec.scale),
                            name=op.name)
    return O.IntSoftmax(axis=op.axis, dtype=y_spec.dtype.value, levels=y_spec.qmax,
                        input_scale=float(x_spec.scale), output_scale=float(y_spec.scale),
                        name=op.name)
