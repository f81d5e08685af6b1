"""`simplify-reshape`: remove no-op reshapes/transposes and collapse chains.

* reshape(x) to x's own shape ⇒ x;  transpose(x) with the identity perm ⇒ x
* reshape(reshape(x)) ⇒ reshape(x)
* transpose(transpose(x, p), q) ⇒ transpose(x, [p[i] for i in q])

A no-op whose result is a graph output that its operand cannot replace (a graph
input, another output) is kept so that the output keeps its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Operation
from ..ir.ops import Reshape, Transpose
from .base import Pass, PassResult
from .pattern import RewritePattern, apply_patterns, can_forward, erase_if_unused, forward
from .registry import register_pass


def _is_noop(op: Operation) -> bool:
    if isinstance(op, Reshape):
        return tuple(op.shape) == op.inputs[0].type.shape
    return tuple(op.perm) == tuple(range(len(op.perm)))


class RemoveNoOp(RewritePattern):
    roots = (Reshape, Transpose)

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        if not _is_noop(op) or not can_forward(graph, op.output, op.inputs[0]):
            return False
        forward(graph, op, op.inputs[0])
        return True


class CollapseChain(RewritePattern):
    """Read through a reshape feeding a reshape, or a transpose feeding a transpose."""

    roots = (Reshape, Transpose)

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        inner = op.inputs[0].producer
        if type(inner) is not type(op):
            return False
        if isinstance(op, Transpose):
            op.perm = tuple(inner.perm[i] for i in op.perm)
        middle = op.inputs[0]
        graph.set_operand(op, 0, inner.inputs[0])
        erase_if_unused(graph, middle)
        return True


@register_pass
@dataclass(frozen=True)
class SimplifyReshape(Pass):
    """Remove no-op Reshape/Transpose and collapse reshape and transpose chains."""

    name = "simplify-reshape"

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [RemoveNoOp(), CollapseChain()])
        return PassResult({"removed": counts["RemoveNoOp"], "collapsed": counts["CollapseChain"]})
