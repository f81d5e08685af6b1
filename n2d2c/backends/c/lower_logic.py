"""Lowering of comparisons, boolean logic, Where, Cast, Sign (ir/ops/logic.py) into
``map`` calls, and of ArgMax/ArgMin into ``arg_reduce``.

Every element-wise op here is one ``map`` whose function (``LOGIC_FNS`` in kernels.py,
spelled in spelling.j2) is defined for any element type; booleans are uint8_t 0/1
buffers (``storage_dtype`` in program.py), which is how onnxruntime stores them too.
"""

from __future__ import annotations

from ...ir import DType, ops
from .lowering import _comment
from .program import KernelCall, Lowering, lowers
from .views import View

_FNS = {ops.Equal: "equal", ops.Less: "less", ops.Greater: "greater",
        ops.LessOrEqual: "less_equal", ops.GreaterOrEqual: "greater_equal",
        ops.And: "and", ops.Or: "or", ops.Xor: "xor", ops.Not: "not", ops.Where: "where",
        ops.Sign: "sign"}


def _fn(op) -> str:
    if isinstance(op, ops.Cast):
        # A cast to bool is ``x != 0``, not the truncation a cast to uint8_t would be.
        return "to_bool" if op.target is DType.BOOL else "cast"
    return _FNS[type(op)]


@lowers(ops.Cast, *_FNS)
def lower_logic_map(low: Lowering, op) -> None:
    views = [low.view(v) for v in op.inputs]
    shape = op.output.shape
    low.begin("op", op.name, _comment(op), op)
    like = next((v for v in views if v.shape == shape), None)
    y = low.output(op.output, like=like)
    reads = {role: v.broadcast_to(shape) for role, v in zip("abc", views)}
    low.emit(KernelCall("map", reads, {"y": y}, {"fn": _fn(op)}))


@lowers(ops.ArgMax, ops.ArgMin)
def lower_arg_reduce(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    axis = op.resolved_axis(x.rank)
    low.begin("op", op.name, _comment(op, extra=f"axis {axis}"), op)
    y = low.output(op.output)
    if not op.keepdims:
        # y seen with the reduced axis kept (length 1): the kernel's one shape rule.
        y = View(y.storage, y.offset, x.shape[:axis] + (1,) + x.shape[axis + 1:],
                 y.strides[:axis] + (0,) + y.strides[axis:])
    low.emit(KernelCall("arg_reduce", {"x": x}, {"y": y},
                        {"axis": axis, "largest": isinstance(op, ops.ArgMax),
                         "last": op.select_last_index}))
