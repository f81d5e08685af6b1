"""Graph verifier: every op well-formed, types consistent, order topological."""

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


def _define(v, defined, names, where):
    if v.name in names:
        raise VerificationError(f"{where}: value name %{v.name} is defined twice")
    names.add(v.name)
    defined.add(id(v))
