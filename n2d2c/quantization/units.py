"""Unit discovery: the layers of a float graph that become integer layers, with the
clamps that join them, and which values can never be negative.

A *unit* is a Conv2d, a ConvTranspose2d, a Gemm (constant B, constant C broadcast
along the output features), a MatMul (constant 2-D B, or two activations), an Add or
Sub of two activations (one shared scale) or a Mul of two activations (broadcasting: a
squeeze-excite gate; scales multiply), with a fused ReLU/Clip or none, plus the clamps that follow it
(Relu, Clip, Max/Min with a scalar or per-channel constant, each the sole
reader of the previous result): they become the clamp bounds of its ``rescale``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import takewhile

import numpy as np

from ..ir import Graph, Operation, Value
from ..ir.ops import (Add, AvgPool2d, Clip, Concat, Constant, Conv2d, ConvTranspose2d, Dropout,
                      Gemm, GlobalAvgPool, GlobalMaxPool, HardSigmoid, Identity, MatMul, Max,
                      MaxPool2d, Min, Mul, Pad, Relu, Reshape, Resize, Sigmoid, Slice, Softmax,
                      Split, Sub, Transpose)
from ..passes.channel_bounds import chain_after, clamp_of, compose
from .calibration import CalibrationStats

# Ops that keep their operand's scale: they run on integers when their operand does.
PASS_OPS = (MaxPool2d, AvgPool2d, GlobalAvgPool, GlobalMaxPool, Reshape, Transpose, Slice, Split,
            Identity, Dropout, Pad, Relu, Clip, Max, Min, Resize)

#: Units without weights: an integer op of their activations and a rescale.
WEIGHTLESS = ("add", "sub", "mul", "matmul")
#: Weightless units whose operands must share one scale (a sum of levels).
SHARED_SCALE = ("add", "sub")
#: Units with constant weights (per-channel weight scales, foldable rescale).
LAYERS = {Conv2d: "conv", ConvTranspose2d: "deconv"}


@dataclass
class Unit:
    kind: str                    # conv | deconv | gemm | matmul-const | WEIGHTLESS
    op: Operation
    chain: list[Operation]
    end: Value
    lo: np.ndarray               # clamp bounds per channel (float64)
    hi: np.ndarray
    axis: int                    # channel axis of the result
    channels: int


class Units:
    """The units of ``graph``, found once: ``by_op`` (unit of its layer op), ``by_end``
    (unit of its last value), ``absorbed`` (ids of the clamps units swallowed)."""

    def __init__(self, graph: Graph, stats: CalibrationStats):
        self.g = graph
        self.stats = stats  # the sign of graph inputs comes from calibration
        self.users: dict[int, list[tuple[Operation, int]]] = {}
        for op in graph.ops:
            for i, v in enumerate(op.inputs):
                self.users.setdefault(id(v), []).append((op, i))
        self.by_op: dict[int, Unit] = {}
        self.by_end: dict[int, Unit] = {}
        self.absorbed: set[int] = set()
        self._nonneg: dict[int, bool] = {}
        for op in graph.ops:
            kind = self.unit_kind(op)
            if kind is not None:
                self._make_unit(op, kind)

    def const(self, v: Value):
        return self.g.constant_value(v)

    def unit_kind(self, op: Operation) -> str | None:
        if getattr(op, "activation", "none") not in ("none", "relu", "clip"):
            return None
        if not op.inputs or any(not v.type.dtype.is_float for v in op.inputs) \
                or not op.output.type.dtype.is_float:
            return None
        if type(op) in LAYERS:
            if self.const(op.inputs[0]) is not None or self.const(op.inputs[1]) is None:
                return None
            if len(op.inputs) == 3 and self.const(op.inputs[2]) is None:
                return None
            if isinstance(op, ConvTranspose2d) and op.group != 1:
                return None  # an output channel's weights would not lie along one axis
            return LAYERS[type(op)]
        if isinstance(op, Gemm):
            if op.trans_a or self.const(op.inputs[0]) is not None \
                    or self.const(op.inputs[1]) is None:
                return None
            if len(op.inputs) == 3:
                c = self.const(op.inputs[2])
                n = op.output.shape[1]
                if c is None or c.ndim > 2 or c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
                    return None
            return "gemm"
        if isinstance(op, MatMul):
            a, b = op.inputs
            if a.type.rank < 2 or b.type.rank < 2 or self.const(a) is not None:
                return None
            bc = self.const(b)
            if bc is None:
                return "matmul"
            return "matmul-const" if bc.ndim == 2 else None
        if isinstance(op, (Add, Sub, Mul)):
            # Constant operands are tables (lookup.py) or stay float.
            if any(self.const(v) is not None for v in op.inputs):
                return None
            return op.OP_NAME
        return None

    def _make_unit(self, op: Operation, kind: str) -> None:
        out = op.output
        rank = out.type.rank
        if kind == "matmul-const":
            axis = rank - 1
        elif rank >= 2:
            axis = 1
        else:
            axis = 0
        channels = out.shape[axis] if rank else 1
        lo = np.full(channels, -math.inf)
        hi = np.full(channels, math.inf)
        activation = getattr(op, "activation", "none")
        if activation == "relu":
            lo, hi = compose(lo, hi, 0.0, math.inf)
        elif activation == "clip":
            lo, hi = compose(lo, hi, op.activation_min, op.activation_max)
        # The clamps after the layer, each the only reader of the previous result,
        # become bounds of its rescale; a LeakyRelu (not a clamp) ends the chain.
        elements, _ = chain_after(self.g, out, limit=None, axis=axis)
        chain = list(takewhile(lambda e: clamp_of(self.g, e, axis) is not None, elements))
        for element in chain:
            lo, hi = compose(lo, hi, *clamp_of(self.g, element, axis))
        value = chain[-1].output if chain else out
        unit = Unit(kind, op, chain, value, lo, hi, axis, channels)
        self.by_op[id(op)] = unit
        self.by_end[id(value)] = unit
        self.absorbed.update(id(c) for c in chain)

    def nonneg(self, v: Value) -> bool:
        """Whether ``v`` is never negative, from the graph's structure (for graph
        inputs: from calibration)."""
        key = id(v)
        if key in self._nonneg:
            return self._nonneg[key]
        self._nonneg[key] = False  # cycles cannot happen, but be safe
        result = self._compute_nonneg(v)
        self._nonneg[key] = result
        return result

    def _compute_nonneg(self, v: Value) -> bool:
        op = v.producer
        if op is None:
            stats = self.stats.get(v.name)
            return stats is not None and stats.min >= 0
        if isinstance(op, Constant):
            return bool(np.all(op.value >= 0))
        unit = self.by_end.get(id(v))
        if unit is not None:
            if np.all(unit.lo >= 0):
                return True
            return unit.kind in ("add", "mul") and all(self.nonneg(x) for x in unit.op.inputs)
        if isinstance(op, (Relu, Softmax, Sigmoid, HardSigmoid)):
            return True
        if isinstance(op, Clip):
            return op.min >= 0 or self.nonneg(op.inputs[0])
        if getattr(op, "activation", "none") == "relu" or (
                getattr(op, "activation", "none") == "clip" and op.activation_min >= 0):
            return True
        if isinstance(op, Max):
            return any(self.nonneg(x) for x in op.inputs)
        if isinstance(op, (Min, Add, Concat)):
            return all(self.nonneg(x) for x in op.inputs)
        if isinstance(op, Pad):
            return self.nonneg(op.inputs[0]) and (op.mode != "constant" or op.value >= 0)
        if isinstance(op, PASS_OPS):
            return self.nonneg(op.inputs[0])
        return False

    def data_operand(self, op: Operation) -> int | None:
        """Which operand a scale-preserving op moves (None: not such an op here)."""
        if not isinstance(op, PASS_OPS):
            return None
        if isinstance(op, Resize) and op.mode != "nearest":
            return None  # interpolating makes new levels: not a copy
        if isinstance(op, (Max, Min)):
            for i in (0, 1):
                x, other = op.inputs[i], op.inputs[1 - i]
                const = self.const(other)
                if const is not None and self.const(x) is None and op.output.type == x.type:
                    return i
            return None
        return 0
