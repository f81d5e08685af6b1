"""Activations seen as per-channel clamps, for `equalize-weights`.

Relu, Clip and Max/Min with a per-channel constant are all clamps
``min(max(x, lo_c), hi_c)`` with one (lo, hi) per channel (axis 1): Relu is
(0, inf), Clip(a, b) is (a, b), max(x, l) is (l, inf), min(x, h) is (-inf, h).
A clamp satisfies clamp(y / s; lo / s, hi / s) = clamp(y; lo, hi) / s for s > 0,
which is what lets cross-layer equalisation rescale channels through them
exactly; LeakyReLU needs no change at all.  The same view gives interval bounds
on a value, which bias absorption needs.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Operation, Value
from ..ir.ops import Clip, FusedActivation, LeakyRelu, Max, Min, Relu
from .pattern import forward, replace_constant, sole_user

ELEMENTS = (Relu, LeakyRelu, Clip, Max, Min)

Bounds = tuple[np.ndarray, np.ndarray]


def _channel_vector(array: np.ndarray, rank: int, channels: int) -> np.ndarray | None:
    """``array`` as one value per channel, if it broadcasts along axis 1 only."""
    if array.ndim > rank:
        return None
    shape = (1,) * (rank - array.ndim) + array.shape
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, channels):
        return None
    return np.broadcast_to(array.reshape(-1).astype(np.float64), (channels,)).copy()


def data_operand(graph: Graph, op: Operation) -> int | None:
    """Which operand of an element op is the activation (the other is its bound)."""
    if not isinstance(op, (Max, Min)):
        return 0
    for i in (0, 1):
        x, bound = op.inputs[i], op.inputs[1 - i]
        array = graph.constant_value(bound)
        if array is not None and x.type.rank in (2, 4) and x.type == op.output.type and \
                _channel_vector(array, x.type.rank, x.type.shape[1]) is not None:
            return i
    return None


def clamp_of(graph: Graph, op: Operation) -> Bounds | None:
    """The per-channel (lo, hi) of a clamp element; None for LeakyRelu and others."""
    channels = op.output.type.shape[1]
    full = lambda v: np.full(channels, float(v))  # noqa: E731
    if isinstance(op, Relu):
        return full(0.0), full(math.inf)
    if isinstance(op, Clip):
        return full(op.min), full(op.max)
    if isinstance(op, (Max, Min)):
        i = data_operand(graph, op)
        if i is None:
            return None
        x = op.inputs[i]
        vec = _channel_vector(graph.constant_value(op.inputs[1 - i]), x.type.rank, channels)
        return (vec, full(math.inf)) if isinstance(op, Max) else (full(-math.inf), vec)
    return None


def chain_after(graph: Graph, value: Value, limit: int = 4) -> tuple[list[Operation], Value]:
    """The activation elements applied to ``value``, each the only reader of the
    previous result; returns them and the last result."""
    chain = []
    while len(chain) < limit:
        user = sole_user(graph, value)
        if not isinstance(user, ELEMENTS) or value.type.rank not in (2, 4):
            break
        i = data_operand(graph, user)
        if i is None or user.inputs[i] is not value:
            break
        chain.append(user)
        value = user.output
    return chain, value


def is_scale_invariant(graph: Graph, op: Operation) -> bool:
    """f(y / s) = f(y) / s with f unchanged: no finite non-zero bound."""
    if isinstance(op, LeakyRelu):
        return True
    lo, hi = clamp_of(graph, op)
    return bool(np.all(np.isin(lo, (0.0, -math.inf))) and np.all(np.isin(hi, (0.0, math.inf))))


def value_bounds(graph: Graph, value: Value, clamps: dict[int, Bounds], depth: int = 8) -> Bounds:
    """Per-channel [lo, hi] every element of ``value`` provably lies in.

    ``clamps`` overrides the bounds of elements this pass is rewriting.
    """
    channels = value.type.shape[1]
    op = value.producer
    if isinstance(op, ELEMENTS) and depth > 0:
        i = data_operand(graph, op)
        if i is not None:
            lo, hi = value_bounds(graph, op.inputs[i], clamps, depth - 1)
            if isinstance(op, LeakyRelu):
                leaky = lambda v: np.where(v >= 0, v, v * op.alpha)  # noqa: E731
                return leaky(lo), leaky(hi)
            clo, chi = clamps.get(id(op)) or clamp_of(graph, op)
            return np.clip(lo, clo, chi), np.clip(hi, clo, chi)
    lo, hi = op.activation_range() if isinstance(op, FusedActivation) else (-math.inf, math.inf)
    return np.full(channels, float(lo)), np.full(channels, float(hi))


def write_clamp(graph: Graph, op: Operation, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Make element ``op`` the clamp (lo, hi); return whether the graph changed."""
    old_lo, old_hi = clamp_of(graph, op)
    if np.array_equal(lo, old_lo) and np.array_equal(hi, old_hi):
        return False
    x = op.inputs[data_operand(graph, op)]
    shape = (-1,) + (1,) * (x.type.rank - 2)
    dtype = x.type.dtype.numpy
    if isinstance(op, (Max, Min)):
        i = data_operand(graph, op)
        vec = lo if isinstance(op, Max) else hi
        replace_constant(graph, op, 1 - i, vec.reshape(shape).astype(dtype), f"{op.name}.bound")
        return True
    # A Clip whose bounds now differ per channel: relu or max, then min.
    value = x
    if np.all(lo == 0):
        value = graph.add(Relu(), [value], [f"{op.name}.relu"], before=op).output
    elif np.any(lo != -math.inf):
        bound = graph.constant(lo.reshape(shape).astype(dtype), f"{op.name}.lo", before=op)
        value = graph.add(Max(), [value, bound], [f"{op.name}.max"], before=op).output
    if np.any(hi != math.inf):
        bound = graph.constant(hi.reshape(shape).astype(dtype), f"{op.name}.hi", before=op)
        value = graph.add(Min(), [value, bound], [f"{op.name}.min"], before=op).output
    name = op.output.name
    forward(graph, op, value)
    graph.rename(value, name)
    value.producer.name = name
    return True
