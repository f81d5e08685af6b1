"""Element types of the graph's inputs and outputs, and float16 at the boundaries.

n2d2c computes floats in float32.  A float16 model is imported as float32 inside:

* float16 initializers and constants become float32 when they are recorded
  (``float32_constant``): exact, every float16 is a float32;
* a float16 graph input keeps its type (callers feed float16) and is cast to float32
  right after it enters (``enter``);
* a Cast to float16 inside the graph keeps its rounding and is cast back to float32
  for the ops that read it (``widen``), so every converter sees float32;
* a graph output declared float16 is cast from float32 (round to nearest even) right
  before it leaves (``leave``), unless the model's own Cast already made it float16.

Integer and boolean graph inputs and outputs keep their type; such a tensor may only
reach run-time inputs that a converter declares ``any_dtype`` (data movement,
comparisons, logic, Where, Cast, ArgMax, Gather's indices ...): ``check_operands``
refuses the others by name before the converter runs (integer arithmetic in ONNX wraps
in the operand type, which the float32 ops of the IR do not do).

float64 (double) is refused, with one error naming the input or output: the IR has no
float64 type, and computing a double model in float32 would hand back less precision
than its declared outputs promise, silently.  Convert such a model to float32.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ...errors import UnsupportedError
from ...ir import DType, Value, ops
from .registry import STATIC_INPUTS, takes_any_dtype

ELEMENT_TYPES: dict[int, DType] = {
    TensorProto.FLOAT: DType.F32, TensorProto.FLOAT16: DType.F16, TensorProto.INT8: DType.I8,
    TensorProto.UINT8: DType.U8, TensorProto.INT16: DType.I16, TensorProto.INT32: DType.I32,
    TensorProto.INT64: DType.I64, TensorProto.BOOL: DType.BOOL,
}

_ACCEPTED = "float32, float16, int8, uint8, int16, int32, int64 and bool"


def type_name(elem: int) -> str:
    return TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else str(elem)


def io_dtype(value_info, kind: str) -> DType | None:
    """The IR element type of graph input/output ``value_info`` (``kind``: "input" or
    "output"); None for an output whose type the model leaves undefined.  Raises one
    UnsupportedError naming the tensor and its type for anything else."""
    name = value_info.name
    value_kind = value_info.type.WhichOneof("value")
    if value_kind != "tensor_type":
        raise UnsupportedError(f"graph {kind} '{name}' is not a tensor "
                               f"({value_kind or 'no type'}); n2d2c reads and writes tensors only")
    elem = value_info.type.tensor_type.elem_type
    if kind == "output" and elem == TensorProto.UNDEFINED:
        return None
    dtype = ELEMENT_TYPES.get(elem)
    if dtype is None:
        why = (": n2d2c computes floats in float32 and does not take float64 models"
               if elem == TensorProto.DOUBLE else "")
        raise UnsupportedError(
            f"graph {kind} '{name}' has element type {type_name(elem)}; n2d2c takes {_ACCEPTED} "
            f"tensors{why}",
            hint="convert the model to float32 (or float16)" if elem == TensorProto.DOUBLE
            else None)
    return dtype


def float32_constant(array: np.ndarray) -> np.ndarray:
    """float16 constants are kept as float32 (exactly), like everything computed inside."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def _cast(state, value: Value, dtype: DType, name: str) -> Value:
    op = ops.Cast(dtype=dtype.value, name=name)
    state.graph.add(op, [value], [name])
    return op.output


def enter(state, name: str, graph_input: Value) -> Value:
    """The value the ops read for graph input ``name``: float16 is widened to float32."""
    if graph_input.type.dtype is not DType.F16:
        return graph_input
    state.float16[name] = graph_input
    return _cast(state, graph_input, DType.F32, state.fresh(f"{name}.f32"))


def widen(state, name: str) -> None:
    """After a node: a float16 result (a Cast to float16) is read as float32 by later ops."""
    value = state.values.get(name)
    if value is not None and value.type.dtype is DType.F16:
        state.float16[name] = value
        state.values[name] = _cast(state, value, DType.F32, state.fresh(f"{name}.f32"))


def check_operands(ctx) -> None:
    """Refuse a non-float32 run-time input of a converter that computes float32 only.
    Inputs needed at compile time are left to the converter, which says so."""
    static = STATIC_INPUTS.get(ctx.op_type, ())
    for i, name in enumerate(ctx.node.input):
        value = ctx.state.values.get(name) if name else None
        if value is None or value.type.dtype is DType.F32 or takes_any_dtype(ctx.op_type, i) \
                or i in static:
            continue
        raise ctx.unsupported(
            f"input '{name}' has element type {value.type.dtype.numpy.name} at run time; "
            f"n2d2c computes {ctx.op_type} on float32 tensors only")


def leave(state, value_info, value: Value) -> Value:
    """The graph output for ``value_info``: ``value`` converted to the declared type."""
    want = io_dtype(value_info, "output")
    have = value.type.dtype
    if want is None or want is have:
        return value
    name = value_info.name
    if want is DType.F16 and have is DType.F32:
        narrow = state.float16.get(name)
        if narrow is not None:  # already rounded by the model's Cast (or a float16 input)
            return narrow
        if value.name == name:  # the float16 result takes over the tensor's name
            state.graph.rename(value, state.fresh(f"{name}.f32"))
        return _cast(state, value, DType.F16, name)
    declared = type_name(value_info.type.tensor_type.elem_type)
    raise UnsupportedError(f"graph output '{name}' is declared {declared}, but n2d2c "
                           f"computes it as {have.numpy.name}")


def drop_unused_widening(state) -> None:
    """Erase the float32 casts of float16 tensors that only a graph output read."""
    for name in state.float16:
        widened = state.values.get(name)
        if widened is None or widened.producer is None:
            continue
        if not state.graph.users(widened) and not state.graph.is_output(widened):
            state.graph.erase(widened.producer)
