"""Rewrite patterns ("match this op in this context → replace it") and their driver.

A pattern names the op classes it looks at (``roots``) and implements
``match_and_rewrite(op, graph)``, which returns True when it changed the graph.
``apply_patterns`` sweeps the graph until no pattern fires, so rewrites that
enable each other (a reshape chain, a pad before a conv before a BN) compose.

The helpers below are the context checks most patterns need; they keep graph
outputs' names stable so that a rewrite never renames the network's interface.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, Sequence

import numpy as np

from ..ir import Graph, Operation, Value


class RewritePattern:
    """One local rewrite. Subclasses set ``roots`` and implement ``match_and_rewrite``."""

    roots: ClassVar[tuple[type[Operation], ...]] = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        raise NotImplementedError


def apply_patterns(graph: Graph, patterns: Sequence[RewritePattern], *,
                   max_sweeps: int = 16) -> Counter:
    """Apply ``patterns`` until none fires (or ``max_sweeps``); count rewrites per pattern.

    Within a sweep ops are visited in graph order and the first pattern that
    fires on an op wins.  Patterns erase what their rewrite left unused
    (``erase_if_unused``); ops that were dead before are `dead-code`'s business.
    """
    counts: Counter = Counter()
    for _ in range(max_sweeps):
        changed = False
        for op in graph.ops:  # a snapshot: rewrites may insert and erase ops
            if op not in graph:  # erased by an earlier rewrite of this sweep
                continue
            for pattern in patterns:
                if isinstance(op, pattern.roots) and pattern.match_and_rewrite(op, graph):
                    counts[pattern.name] += 1
                    changed = True
                    break
        if not changed:
            break
    return counts


# -- context checks ----------------------------------------------------------------------
def sole_user(graph: Graph, value: Value) -> Operation | None:
    """The only op reading ``value`` (once), if ``value`` is not also a graph output."""
    users = graph.users(value)
    if len(users) != 1 or graph.is_output(value):
        return None
    return users[0][0]


def constant_operands(graph: Graph, op: Operation, first: int = 0) -> list[np.ndarray] | None:
    """The arrays behind ``op.inputs[first:]`` when all are constants, else None."""
    arrays = [graph.constant_value(v) for v in op.inputs[first:]]
    return None if any(a is None for a in arrays) else arrays


def is_float(value: Value) -> bool:
    return value.type.dtype.is_float


# -- rewriting ----------------------------------------------------------------------------
def can_forward(graph: Graph, old: Value, new: Value) -> bool:
    """Whether uses of ``old`` can move to ``new`` without renaming a graph output.

    When ``old`` is a graph output, ``new`` takes its name, which is impossible
    if ``new`` is a graph input or already an output itself.
    """
    if not graph.is_output(old):
        return True
    return new.producer is not None and not graph.is_output(new)


def forward(graph: Graph, op: Operation, new: Value) -> None:
    """Replace ``op`` (one result) by ``new`` and erase what only ``op`` used.

    ``new`` inherits ``op``'s result name when that result is a graph output
    (check ``can_forward`` first)."""
    old = op.outputs[0]
    keep_name = graph.is_output(old)
    name = old.name
    graph.replace_op(op, [new])
    if keep_name:
        graph.rename(new, name)
    for operand in op.inputs:
        erase_if_unused(graph, operand)


def set_operand(graph: Graph, op: Operation, index: int, value: Value) -> None:
    """Point operand ``index`` of ``op`` (appending when index == len) at ``value``,
    erasing the old operand's producer when nothing else reads it."""
    old = op.inputs[index] if index < len(op.inputs) else None
    graph.set_operand(op, index, value)
    if old is not None:
        erase_if_unused(graph, old)


def erase_if_unused(graph: Graph, value: Value) -> None:
    """Erase the producer of ``value`` when none of its results is used any more,
    then do the same for its operands (what a rewrite orphaned goes with it)."""
    op = value.producer
    if op is None or op not in graph:
        return
    if any(graph.users(v) or graph.is_output(v) for v in op.outputs):
        return
    graph.erase(op)
    for operand in op.inputs:
        erase_if_unused(graph, operand)


def replace_constant(graph: Graph, op: Operation, index: int, array: np.ndarray,
                     name: str) -> Value:
    """Give ``op`` the constant ``array`` as operand ``index`` (appended when index ==
    len(inputs)).  The new constant takes the old one's name once that is unused."""
    old = op.inputs[index] if index < len(op.inputs) else None
    value = graph.constant(array, name=old.name if old is not None else name, before=op)
    set_operand(graph, op, index, value)
    if old is not None and old.producer is not None and old.producer not in graph:
        graph.rename(value, old.name)
    return value
