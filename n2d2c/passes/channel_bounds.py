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


def channel_vector(array: np.ndarray, rank: int, channels: int, axis: int = 1) -> np.ndarray | None:
    """``array`` as one value per channel, if it broadcasts along ``axis`` only."""
    if array.ndim > rank or not 0 <= axis < rank:
        return None
    shape = (1,) * (rank - array.ndim) + array.shape
    if any(d != 1 for i, d in enumerate(shape) if i != axis) or shape[axis] not in (1, channels):
        return None
    return np.broadcast_to(array.reshape(-1).astype(np.float64), (channels,)).copy()


def _channels(value: Value, axis: int) -> int:
    return value.type.shape[axis] if value.type.rank > axis else 1


def data_operand(graph: Graph, op: Operation, axis: int = 1) -> int | None:
    """Which operand of an element op is the activation (the other is its bound)."""
    if not isinstance(op, (Max, Min)):
        return 0
    for i in (0, 1):
        x, bound = op.inputs[i], op.inputs[1 - i]
        array = graph.constant_value(bound)
        if array is not None and x.type == op.output.type and channel_vector(
                array, x.type.rank, _channels(x, axis), axis) is not None:
            return i
    return None


def clamp_of(graph: Graph, op: Operation, axis: int = 1) -> Bounds | None:
    """The per-channel (lo, hi) of a clamp element; None for LeakyRelu and others."""
    channels = _channels(op.output, axis)
    full = lambda v: np.full(channels, float(v))  # noqa: E731
    if isinstance(op, Relu):
        return full(0.0), full(math.inf)
    if isinstance(op, Clip):
        return full(op.min), full(op.max)
    if isinstance(op, (Max, Min)):
        i = data_operand(graph, op, axis)
        if i is None:
            return None
        x = op.inputs[i]
        vec = channel_vector(graph.constant_value(op.inputs[1 - i]), x.type.rank, channels, axis)
        return (vec, full(math.inf)) if isinstance(op, Max) else (full(-math.inf), vec)
    return None


def compose(lo1, hi1, lo2, hi2) -> Bounds:
    """Bounds of clamp(clamp(x, lo1, hi1), lo2, hi2) as one clamp."""
    lo = np.minimum(np.maximum(lo1, lo2), hi2)
    hi = np.minimum(np.maximum(hi1, lo2), hi2)
    return np.asarray(lo, np.float64), np.asarray(hi, np.float64)


def chain_after(graph: Graph, value: Value, limit: int | None = 4,
                axis: int = 1) -> tuple[list[Operation], Value]:
    """The activation elements applied to ``value``, each the only reader of the
    previous result (at most ``limit``); returns them and the last result."""
    chain = []
    while limit is None or len(chain) < limit:
        user = sole_user(graph, value)
        if not isinstance(user, ELEMENTS):
            break
        i = data_operand(graph, user, axis)
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
            return compose(lo, hi, *(clamps.get(id(op)) or clamp_of(graph, op)))
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
