"""`n2d2c info`: per-layer operations, parameters, MACs and activation sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir import Graph, ops
from .ir.graph import Operation


@dataclass
class LayerInfo:
    name: str
    op: str
    output_shape: str
    params: int
    macs: int
    activation_bytes: int


def macs_of(op: Operation) -> int:
    """Multiply-accumulates (or element operations for cheap ops) of one op."""
    out_elems = sum(v.type.size for v in op.outputs)
    if isinstance(op, (ops.Conv2d, ops.ConvTranspose2d)):
        return ops.nn.conv_macs(op)
    if isinstance(op, ops.Gemm):
        a = op.inputs[0].shape
        k = a[op.a_inner_axis]
        return out_elems * k
    if isinstance(op, ops.MatMul):
        return out_elems * op.inputs[0].shape[-1]
    if isinstance(op, ops.Constant):
        return 0
    if isinstance(op, (ops.MaxPool2d, ops.AvgPool2d, ops.MaxPool2dWithIndices)):
        return op.outputs[0].type.size * op.kernel[0] * op.kernel[1]
    if isinstance(op, (ops.GlobalAvgPool, ops.GlobalMaxPool, ops.Reduce)):
        return op.inputs[0].type.size
    return out_elems


def layer_table(graph: Graph) -> list[LayerInfo]:
    rows = []
    for op in graph.ops:
        if isinstance(op, ops.Constant):
            continue
        params = sum(int(np.asarray(graph.constant_value(v)).size) for v in op.inputs
                     if graph.constant_value(v) is not None)
        rows.append(LayerInfo(op.name, op.OP_NAME, " ".join(str(v.type) for v in op.outputs),
                              params, macs_of(op), sum(v.type.nbytes for v in op.outputs)))
    return rows


def format_info(graph: Graph) -> str:
    rows = layer_table(graph)
    header = ("layer", "op", "output", "params", "MACs", "act. bytes")
    table = [header] + [(r.name, r.op, r.output_shape, f"{r.params:,}", f"{r.macs:,}",
                         f"{r.activation_bytes:,}") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    inputs = ", ".join(f"%{v.name}: {v.type}" for v in graph.inputs)
    outputs = ", ".join(f"%{v.name}: {v.type}" for v in graph.outputs)
    total_params = sum(r.params for r in rows)
    total_macs = sum(r.macs for r in rows)
    largest = max((r.activation_bytes for r in rows), default=0)
    summary = [f"graph @{graph.name}: {len(rows)} layers",
               f"inputs:  {inputs}", f"outputs: {outputs}",
               f"parameters: {total_params:,}   MACs: {total_macs:,}   "
               f"largest activation: {largest:,} bytes"]
    return "\n".join(summary + [""] + lines) + "\n"


def format_memory(graph: Graph, options=None) -> str:
    """The C++ backend's memory plan of ``graph`` (``n2d2c info --memory``): arena, lower
    bound, ratio, bytes saved by each optimisation and every buffer."""
    from .backends.c.memory import REPORT_NOTES, plan_graph, summary_of
    from .passes.memory import format_memory_report

    memory = plan_graph(graph, options)
    return format_memory_report(memory.problem, memory.plan, summary_of(graph, memory),
                                title=f"graph @{graph.name} (C++ backend buffers)",
                                notes=REPORT_NOTES)
