"""The IR ``int_softmax`` (ir/ops/int_softmax.py) in both quantized ONNX forms.

Its arithmetic, spelled with integer ONNX ops: ReduceMax of the int32-widened levels,
Gather of the exp table at ``max - x``, an int32 ReduceSum (exact: the IR bounds the
row), then the int64 rounded division (integer Div of non-negative operands is the
floor) or one float32 Div of the exact Casts.  So the exported model computes the
simulator's integers, and its float32 results, bit for bit, in every form (no float
Softmax between a DequantizeLinear and a QuantizeLinear, whose float32 exp in
onnxruntime would round differently).
"""

from __future__ import annotations

import numpy as np

from ...ir import ops as O
from ...ir.types import DType
from .writer import ONNX_DTYPES


def integer_softmax(exporter, op: O.IntSoftmax) -> str:
    """Write ``op``; returns its result tensor, named like the IR result."""
    w = exporter.w
    table = exporter.g.constant_value(op.inputs[1])
    if table is None:
        raise exporter.unsupported(op, "with a table computed at run time")
    axes = w.const(np.array([op.row_axis()], np.int64), "axes")
    x = w.op("Cast", exporter.value(op.inputs[0]), to=ONNX_DTYPES[DType.I32])
    top = w.op("ReduceMax", x, axes, keepdims=1)
    e = w.op("Gather", w.const(np.asarray(table, np.int32), f"{op.name}.table"),
             w.op("Sub", top, x), axis=0)
    total = w.op("Max", w.op("ReduceSum", e, axes, keepdims=1), w.const(np.int32(1), "one"))
    out = w.claim(op.output.name)
    if op.dtype == "f32":
        f32 = ONNX_DTYPES[DType.F32]
        return w.op("Div", w.op("Cast", e, to=f32), w.op("Cast", total, to=f32), out=out,
                    name=op.name)
    i64 = ONNX_DTYPES[DType.I64]
    total = w.op("Cast", total, to=i64)
    num = w.op("Add", w.op("Mul", w.op("Cast", e, to=i64), w.const(np.int64(2 * op.levels),
                                                                     "levels2")), total)
    den = w.op("Mul", total, w.const(np.int64(2), "two"))
    return w.op("Cast", w.op("Div", num, den), to=ONNX_DTYPES[op.output.type.dtype], out=out,
                name=op.name)
