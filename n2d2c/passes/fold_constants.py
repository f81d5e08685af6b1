"""`fold-constants`: an op whose operands are all constants becomes a constant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Operation
from ..ir.ops import Constant
from .base import Pass, PassResult, option
from .numpy_eval import evaluate
from .pattern import RewritePattern, apply_patterns, constant_operands, erase_if_unused
from .registry import register_pass


def _simulate_one(op: Operation, arrays: list[np.ndarray]) -> list[np.ndarray] | None:
    """Run ``op`` alone on the reference simulator, if that is available."""
    try:
        from ..runtime import simulate
    except ImportError:
        return None
    sub = Graph("fold")
    operands = [sub.constant(a, name=f"arg{i}") for i, a in enumerate(arrays)]
    clone = type(op)(name="op", **op.attributes())
    sub.add(clone, operands, [f"out{i}" for i in range(len(op.outputs))],
            types=[v.type for v in op.outputs])
    sub.outputs = list(clone.outputs)
    try:
        results = simulate(sub, {})
    except Exception:  # an op the simulator cannot run is simply not folded
        return None
    return [np.asarray(results[v.name]).astype(v.type.dtype.numpy, copy=False)
            for v in clone.outputs]


class FoldConstantOp(RewritePattern):
    """op(constant, ..., constant) → constant, computed with numpy."""

    roots = (Operation,)

    def __init__(self, use_simulator: bool):
        self.use_simulator = use_simulator

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        if isinstance(op, Constant) or not op.inputs:
            return False
        arrays = constant_operands(graph, op)
        if arrays is None:
            return False
        results = evaluate(op, arrays)
        if results is None and self.use_simulator:
            results = _simulate_one(op, arrays)
        if results is None or any(r.shape != v.type.shape or r.dtype != v.type.dtype.numpy
                                  for r, v in zip(results, op.outputs)):
            return False
        names = [v.name for v in op.outputs]
        constants = [graph.constant(r, name=n, before=op) for r, n in zip(results, names)]
        graph.replace_op(op, constants)
        for value, name in zip(constants, names):
            graph.rename(value, name)
            erase_if_unused(graph, value)  # a result nobody read (e.g. of a split)
        for operand in op.inputs:
            erase_if_unused(graph, operand)
        return True


@register_pass
@dataclass(frozen=True)
class FoldConstants(Pass):
    """Replace ops whose operands are all constants by the constants they compute."""

    name = "fold-constants"

    use_simulator: bool = option(True, "fold ops without a numpy kernel here (convolutions, "
                                       "pools) with n2d2c.runtime.simulate when available")

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [FoldConstantOp(self.use_simulator)])
        return PassResult({"folded": counts["FoldConstantOp"]})
