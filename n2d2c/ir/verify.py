"""Graph verifier: every op well-formed, types consistent, order topological, and the
use-lists the graph keeps agreeing with the operands."""

from __future__ import annotations

from ..errors import N2D2CError, VerificationError
from .graph import Graph


def verify(graph: Graph) -> None:
    """Raise VerificationError naming the first offending op."""
    defined: set[int] = set()
    names: set[str] = set()
    for v in graph.inputs:
        _define(v, defined, names, "graph input")
    for op in graph.ops:
        for i, v in enumerate(op.inputs):
            if id(v) not in defined:
                raise VerificationError(
                    f"{op.label}: operand #{i} %{v.name} is used before it is defined")
        try:
            op.check_arity(len(op.inputs))
            expected = op.infer([v.type for v in op.inputs])
        except N2D2CError as exc:
            raise VerificationError(exc.message, location=op.name or None) from None
        if [v.type for v in op.outputs] != list(expected):
            raise VerificationError(
                f"{op.label}: result types {[str(v.type) for v in op.outputs]} "
                f"disagree with the op's shape rule {[str(t) for t in expected]}")
        for v in op.outputs:
            if v.producer is not op:
                raise VerificationError(f"{op.label}: result %{v.name} has the wrong producer")
            _define(v, defined, names, op.label)
    if not graph.outputs:
        raise VerificationError(f"graph @{graph.name} has no outputs")
    for v in graph.outputs:
        if id(v) not in defined:
            raise VerificationError(f"graph output %{v.name} is not defined in the graph")
    _check_use_lists(graph)


def _define(v, defined, names, where):
    if v.name in names:
        raise VerificationError(f"{where}: value name %{v.name} is defined twice")
    names.add(v.name)
    defined.add(id(v))


_HOW_TO_CHANGE = "change operands with Graph.set_operand or replace_all_uses, not op.inputs[i] = v"


def _check_use_lists(graph: Graph) -> None:
    """Each recorded use is a real operand, and there are as many of them as operands."""
    recorded = 0
    for value, op, index in graph.recorded_uses():
        if op not in graph:
            raise VerificationError(f"the use-list of %{value.name} names {op.label}, which is "
                                    f"not in the graph ({_HOW_TO_CHANGE})")
        if index >= len(op.inputs) or op.inputs[index] is not value:
            raise VerificationError(f"{op.label}: the use-list of %{value.name} names operand "
                                    f"#{index}, which does not read it ({_HOW_TO_CHANGE})")
        recorded += 1
    if recorded == sum(len(op.inputs) for op in graph.ops):
        return
    for op in graph.ops:
        for i, v in enumerate(op.inputs):
            if not any(user is op and j == i for user, j in graph.users(v)):
                raise VerificationError(f"{op.label}: operand #{i} %{v.name} is missing from its "
                                        f"use-list ({_HOW_TO_CHANGE})")
