"""Real scales of the integer values of a quantized graph, for exporters.

The integer IR only needs integers to run; an exporter to ONNX QDQ/QLinear
formats also needs each integer tensor's real scale.  ``value_scales`` derives
them from the graph alone:

* ``quantize`` results: ``scale``; ``rescale``, ``lookup`` and integer
  ``int_softmax`` results: ``output_scale`` (its exp table: 2**-16); the
  operand of a ``rescale`` (an accumulator): ``input_scales`` (per channel);
* data movement, pooling, clamps, concat and nearest resize keep their operand's scale;
* an integer conv/gemm/matmul with constant weights: weight scale per output
  channel = accumulator scale / input scale, bias scale = accumulator scale.

Zero points are those of the producing quantize/rescale (0 in quantizer output).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from ..ir.ops.int_softmax import TABLE_BITS
from ..ir.ops import (Add, AvgPool2d, Clip, Concat, Constant, Conv2d, Dropout, Gemm, GlobalAvgPool,
                      GlobalMaxPool, Identity, IntSoftmax, Lookup, MatMul, Max, MaxPool2d, Min, Pad, Quantize, Relu,
                      Rescale, Reshape, Resize, Slice, Split, Transpose)

_KEEP = (MaxPool2d, AvgPool2d, GlobalAvgPool, GlobalMaxPool, Reshape, Transpose, Slice, Split,
         Identity, Dropout, Pad, Relu, Clip, Max, Min, Concat)


@dataclass(frozen=True)
class ValueScale:
    """value = (q - zero_point) * scales[c], c along ``axis`` (one entry: per tensor)."""

    scales: tuple[float, ...]
    zero_point: int = 0
    axis: int = 1


def value_scales(graph: Graph) -> dict[str, ValueScale]:
    """The real scale of every integer value it can be derived for, by value name."""
    out: dict[str, ValueScale] = {}
    for op in graph.ops:
        if isinstance(op, Quantize):
            out[op.output.name] = ValueScale((op.scale,), op.zero_point)
        elif isinstance(op, IntSoftmax):
            # Its table holds exp(-s * i) in Q16 fixed point.
            out[op.inputs[1].name] = ValueScale((2.0 ** -TABLE_BITS,), 0)
            if op.output_scale > 0 and op.output.type.dtype.is_integer:
                out[op.output.name] = ValueScale((op.output_scale,), 0)
        elif isinstance(op, Lookup):
            if op.output_scale > 0:
                out[op.output.name] = ValueScale((op.output_scale,), op.output_zero_point)
        elif isinstance(op, Rescale):
            if op.output_scale > 0:
                out[op.output.name] = ValueScale((op.output_scale,), op.zero_point)
            x = op.inputs[0]
            if op.input_scales and x.name not in out:
                axis = op.axis % x.type.rank if x.type.rank else 0
                out[x.name] = ValueScale(tuple(op.input_scales), op.input_zero_point, axis)
        elif (isinstance(op, _KEEP) or (isinstance(op, Resize) and op.mode == "nearest")) \
                and op.output.type.dtype.is_integer:
            source = next((out[v.name] for v in op.inputs if v.name in out
                           and not isinstance(v.producer, Constant)), None)
            if source is not None:
                for v in op.outputs:
                    out[v.name] = source
    for op in graph.ops:
        if isinstance(op, Add) and op.output.type.dtype.is_integer and op.output.name in out:
            for v in op.inputs:
                out.setdefault(v.name, out[op.output.name])
        if not isinstance(op, (Conv2d, Gemm, MatMul)) or not op.output.type.dtype.is_integer:
            continue
        acc, x = out.get(op.output.name), out.get(op.inputs[0].name)
        if acc is None or x is None or len(x.scales) != 1:
            continue
        w = op.inputs[1]
        if graph.constant_value(w) is not None:
            if isinstance(op, Conv2d):
                axis = 0
            elif isinstance(op, Gemm):
                axis = op.b_output_axis
            else:
                axis = w.type.rank - 1
            scales = tuple(float(s) for s in np.asarray(acc.scales) / x.scales[0])
            out[w.name] = ValueScale(scales, 0, axis)
        if len(op.inputs) > 2:
            out[op.inputs[2].name] = ValueScale(acc.scales, 0, 0)
    return out
