"""The IR ``lookup`` (ir/ops/lookup.py) in both quantized ONNX forms: ``Gather``.

The table is an integer initializer and the 8-bit operand, widened to int32 and
shifted by ``-dtype_min``, its index: exactly the IR's ``table[x - dtype_min]``, so
the exported model computes the same integers as the simulator (no float ``f``
between a DequantizeLinear and a QuantizeLinear, whose float32 evaluation in
onnxruntime could round a level differently).
"""

from __future__ import annotations

import numpy as np

from ...ir import ops as O
from ...ir.types import DType
from .writer import ONNX_DTYPES


def gather_table(exporter, op: O.Lookup) -> str:
    """Write the Gather of ``op``; returns the integer tensor, named like its result."""
    w = exporter.w
    table = exporter.g.constant_value(op.inputs[1])
    if table is None:
        raise exporter.unsupported(op, "with a table computed at run time")
    index = w.op("Cast", exporter.value(op.inputs[0]), to=ONNX_DTYPES[DType.I32])
    index = w.op("Add", index, w.const(np.int32(op.offset()), "offset"))
    return w.op("Gather", w.const(table, f"{op.name}.table"), index, axis=0,
                out=w.claim(op.output.name), name=op.name)
