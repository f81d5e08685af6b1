"""`integer-io`: a quantized graph's inputs and outputs become its integer tensors.

A quantized graph takes float inputs and quantizes them first, and dequantizes its
results last; on a microcontroller without an FPU those two steps are the only floating
point of an int8 network (software float, libgcc's ``__aeabi_f*`` / ``__aeabi_d*``).
This pass moves them out of the graph, to the caller:

* an input read only by Quantize ops (one scale, zero point and type) becomes an input
  of that integer type, and the Quantize ops go;
* an output made by a Dequantize becomes the Dequantize's integer operand (under the
  output's name), and the Dequantize goes;
* an output made by an int_softmax with a float32 result gets 8-bit levels instead
  (uint8, the probability 1 at 255: ``e / sum`` rounded half up, the quantizer's
  integer softmax result), so that no division in float is left;
* integer outputs stay.

The real values of the new integer edges, ``(q - zero_point) * scale``, are recorded in
``graph.metadata["io_quantization"]`` (name -> {"scale", "zero_point", "dtype"}) for
the caller and the generated documentation.  Any other input or output (a float one the
pass cannot make integer) is a UsageError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..ir import Graph
from ..ir.ops import Dequantize, IntSoftmax, Quantize
from ..ir.types import DType
from .base import Pass, PassResult
from .registry import register_pass

#: The 8-bit levels a float32 int_softmax result becomes: probability 1 at 255.
SOFTMAX_LEVELS = 255


def _integer_inputs(graph: Graph, record: dict) -> int:
    changed = 0
    for x in graph.inputs:
        if x.type.dtype.is_integer:
            continue
        readers = graph.users(x)
        quants = [op for op, _ in readers if isinstance(op, Quantize)]
        if not readers or len(quants) != len(readers) or graph.is_output(x):
            names = ", ".join(op.label for op, _ in readers) or "nothing"
            raise UsageError(f"integer I/O: input %{x.name} is not quantized right away "
                             f"(read by {names})",
                             hint="integer inputs need a quantized graph whose float inputs "
                                  "only feed Quantize ops")
        first = quants[0]
        key = (first.scale, first.zero_point, first.dtype)
        if any((q.scale, q.zero_point, q.dtype) != key for q in quants):
            raise UsageError(f"integer I/O: input %{x.name} is quantized in more than one "
                             "way (scales, zero points or types differ)")
        x.type = first.output.type
        for q in quants:
            graph.replace_op(q, [x])
        record[x.name] = {"scale": float(first.scale), "zero_point": int(first.zero_point),
                          "dtype": x.type.dtype.value}
        changed += 1
    return changed


def _integer_outputs(graph: Graph, record: dict) -> int:
    changed = 0
    outputs = list(graph.outputs)
    for j, y in enumerate(outputs):
        op = y.producer
        if y.type.dtype.is_integer:
            continue
        if isinstance(op, Dequantize) and not graph.users(y) \
                and sum(v is y for v in outputs) == 1:
            src = op.inputs[0]
            graph.outputs[j] = src
            graph.erase(op)
            # The output keeps its name, unless its integer operand is named already as
            # an input or as another output.
            if all(v is not src for v in graph.inputs) \
                    and sum(v is src for v in graph.outputs) == 1:
                graph.rename(src, y.name)
            record[src.name] = {"scale": float(op.scale), "zero_point": int(op.zero_point),
                                "dtype": src.type.dtype.value}
        elif isinstance(op, IntSoftmax) and op.dtype == "f32":
            op.dtype, op.levels = DType.U8.value, SOFTMAX_LEVELS
            op.output_scale = 1.0 / SOFTMAX_LEVELS
            y.type = y.type.with_dtype(DType.U8)
            record[y.name] = {"scale": op.output_scale, "zero_point": 0,
                              "dtype": DType.U8.value}
        else:
            made = op.label if op is not None else "a graph input"
            raise UsageError(f"integer I/O: output %{y.name} is {y.type.dtype.value}, made by "
                             f"{made}, not the dequantized result of an integer tensor",
                             hint="integer outputs need a quantized graph")
        changed += 1
    return changed


@register_pass
@dataclass(frozen=True)
class IntegerIO(Pass):
    """Make a quantized graph's inputs and outputs its integer tensors (no quantize or
    dequantize at the edges; module doc)."""

    name = "integer-io"

    def apply(self, graph: Graph) -> PassResult:
        record = dict(graph.metadata.get("io_quantization", {}))
        inputs = _integer_inputs(graph, record)
        outputs = _integer_outputs(graph, record)
        graph.metadata["io_quantization"] = record
        return PassResult({"inputs": inputs, "outputs": outputs})
