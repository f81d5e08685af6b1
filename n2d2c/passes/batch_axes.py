"""Which values carry the batch on axis 0, so that one network runs any batch: the
``set-batch`` pass (the simulator's ``--batch``) and the TensorRT backend (``-batch N``).

The IR's shapes are static with a batch of 1.  A graph input of shape [1, ...] is
batched; an op's result is batched when it keeps its batched operand's axis 0 as
its own axis 0 (same rank, same extent, and no axis-0 attribute: a reduction,
softmax, concat, split, gather, transpose, slice or pad over axis 0 mixes or moves
samples).  When some op drops the batch, the network is not batchable and ``note``
says where.
"""

from __future__ import annotations

from ..ir import Graph, Operation, Value
from ..ir.ops.shape_rules import normalize_axis

# Ops whose ``axis`` attribute must not be 0 for the batch to pass through.
AXIS_OPS = ("concat", "split", "gather", "gather_elements", "softmax", "log_softmax",
            "argmax", "argmin")


def _touches_axis0(op: Operation, rank: int) -> bool:
    name = op.OP_NAME
    if name in AXIS_OPS:
        return normalize_axis(op, op.axis, rank) == 0
    if name.startswith("reduce_"):
        axes = op.axes or tuple(range(rank))
        return any(normalize_axis(op, a, rank) == 0 for a in axes)
    if name == "transpose":
        return bool(op.perm) and op.perm[0] != 0 or (not op.perm and rank > 1)
    if name == "slice":
        return any(normalize_axis(op, a, rank) == 0 for a in op.axes) if op.axes else bool(op.starts)
    if name == "pad":
        return op.pads[0] != 0 or op.pads[rank] != 0
    if name == "tile":
        return op.repeats[0] != 1
    return False


class BatchAxes:
    def __init__(self, graph: Graph):
        self.batched: set[int] = set()
        self.note = ""
        inputs = list(graph.inputs)
        if not inputs or any(v.type.rank == 0 or v.shape[0] != 1 for v in inputs):
            self.note = "the inputs' axis 0 is not a batch of 1"
            return
        self.batched = {id(v) for v in inputs}
        for op in graph.ops:
            carried = [v for v in op.inputs if id(v) in self.batched]
            if not carried:
                continue
            reason = self._why_not(op, carried)
            if reason:
                self.batched.clear()
                self.note = f"{op.label} {reason}, so the engine takes 1 sample"
                return
            self.batched.update(id(v) for v in op.outputs)

    def _why_not(self, op: Operation, carried: list[Value]) -> str:
        rank = carried[0].type.rank
        if op.OP_NAME in ("matmul", "gemm") and op.inputs[0] not in carried:
            return "multiplies by a batched right-hand side"
        if op.OP_NAME == "gemm" and op.trans_a:
            return "transposes its batched operand"
        if any(v.type.rank != rank for v in carried):
            return "mixes batched operands of different ranks"
        if _touches_axis0(op, rank):
            return "works along axis 0"
        for out in op.outputs:
            # A reshape may change the rank as long as axis 0 stays the sample.
            if out.type.rank == 0 or out.shape[0] != 1 or (
                    out.type.rank != rank and op.OP_NAME != "reshape"):
                return f"changes axis 0 (result {list(out.shape)})"
        return ""

    @property
    def batchable(self) -> bool:
        return bool(self.batched)

    def is_batched(self, v: Value) -> bool:
        return id(v) in self.batched
