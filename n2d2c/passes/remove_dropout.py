"""`remove-dropout`: Dropout and Identity are the identity at inference."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Operation
from ..ir.ops import Dropout, Identity
from .base import Pass, PassResult
from .pattern import RewritePattern, apply_patterns, can_forward, forward
from .registry import register_pass


class ForwardOperand(RewritePattern):
    """dropout(x) → x, identity(x) → x.

    Kept when the result is a graph output that ``x`` cannot stand in for (``x``
    is a graph input or itself an output): removing it would rename the output.
    """

    roots = (Dropout, Identity)

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        if not can_forward(graph, op.output, op.inputs[0]):
            return False
        forward(graph, op, op.inputs[0])
        return True


@register_pass
@dataclass(frozen=True)
class RemoveDropout(Pass):
    """Remove Dropout and Identity ops (inference-time no-ops)."""

    name = "remove-dropout"

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [ForwardOperand()])
        return PassResult({"removed": counts["ForwardOperand"]})
