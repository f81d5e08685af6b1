"""`set-batch{size=N}`: run N samples at once, on axis 0 of every input.

The IR's shapes are static; a graph built for one sample ([1, ...] inputs) gets
[N, ...] inputs, and every value that carries the batch (``batch_axes.py``) gets N
on axis 0: the attributes that spell a full shape (reshape, resize sizes, unpool
output shape) are updated and each op's result types inferred again.  A graph
whose ops mix samples (a softmax over axis 0, a reshape that flattens the batch)
is refused with the op that does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedError, UsageError
from ..ir import Graph, verify
from .base import Pass, PassResult, option
from .batch_axes import BatchAxes
from .registry import register_pass

# Attributes holding a full result shape, whose axis 0 is the batch.
SHAPE_ATTRIBUTES = {"reshape": "shape", "resize": "sizes", "max_unpool2d": "output_shape"}


@register_pass
@dataclass(frozen=True)
class SetBatch(Pass):
    """Set the batch (axis 0 of every input) of a one-sample graph."""

    name = "set-batch"
    size: int = option(1, "samples per run (axis 0 of every input)")

    def apply(self, graph: Graph) -> PassResult:
        if self.size < 1:
            raise UsageError(f"set-batch: size must be >= 1, got {self.size}")
        if all(v.type.rank and v.shape[0] == self.size for v in graph.inputs):
            return PassResult({"batched": 0})  # already that batch (or 1 for 1)
        axes = BatchAxes(graph)
        if not axes.batchable:
            raise UnsupportedError(f"cannot run a batch of {self.size}: {axes.note}")
        for v in graph.inputs:
            v.type = v.type.with_shape((self.size, *v.shape[1:]))
        count = 0
        for op in graph.ops:
            if not any(axes.is_batched(v) for v in op.outputs):
                continue
            attribute = SHAPE_ATTRIBUTES.get(op.OP_NAME)
            if attribute and getattr(op, attribute):
                shape = tuple(getattr(op, attribute))
                setattr(op, attribute, (self.size, *shape[1:]))
            for value, inferred in zip(op.outputs, op.infer([v.type for v in op.inputs])):
                value.type = inferred
            count += 1
        verify(graph)
        return PassResult({"batched": count})
