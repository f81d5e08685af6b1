"""`dead-code`: erase ops none of whose results reach a graph output."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from .base import Pass, PassResult
from .registry import register_pass


@register_pass
@dataclass(frozen=True)
class DeadCode(Pass):
    """Erase ops whose results reach no graph output (graph inputs are kept)."""

    name = "dead-code"

    def apply(self, graph: Graph) -> PassResult:
        return PassResult({"erased": graph.remove_dead_ops()})
