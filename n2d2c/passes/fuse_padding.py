"""`fuse-padding`: fold an explicit Pad into the window op that reads it.

Legality, for a constant-mode Pad on the two spatial axes of a 4-D tensor with
non-negative pads (the op's own pads and the Pad's add up):

* Conv2d: only a zero pad value, which is what implicit padding reads.
* AvgPool2d: only a zero pad value, and only when the pool counts padding in
  its divisor (``count_include_pad``) or has no padding of its own: the padded
  zeros are real elements for the divisor, so the fused pool must count every
  padded cell, which it can only do if it counted its own pads too.  Not with
  ``ceil_mode``, where windows that run past the padded input change the
  output size and divisor differently for explicit and implicit pads.
* MaxPool2d: implicit padding never wins the max, so the explicit pad value
  must never win either: the value is -inf, or is at most a lower bound of the
  padded tensor that we can prove (it is the result of a ReLU, a Clip, a
  sigmoid or an op with a fused relu/clip activation).  A zero pad before a max
  pool of arbitrary values is NOT fused: a window of negative values would see
  the 0.  Also required: no ``ceil_mode``, dilation 1 and every fused pad
  smaller than the kernel, so that every window holds at least one real value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..ir import Graph, Operation, Value
from ..ir.ops import AvgPool2d, Clip, Conv2d, FusedActivation, MaxPool2d, Pad, Relu, Sigmoid
from .base import Pass, PassResult
from .pattern import RewritePattern, apply_patterns, erase_if_unused
from .registry import register_pass


def spatial_pads(pad: Pad) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of a constant 4-D Pad touching only H and W."""
    if pad.mode != "constant" or pad.inputs[0].type.rank != 4:
        return None
    p = pad.pads
    if p[0] or p[1] or p[4] or p[5] or min(p) < 0:
        return None
    return (p[2], p[3], p[6], p[7])


def lower_bound(value: Value) -> float:
    """A value every element of ``value`` is provably >= to (-inf when unknown)."""
    op = value.producer
    if isinstance(op, (Relu, Sigmoid)):
        return 0.0
    if isinstance(op, Clip):
        return op.min
    if isinstance(op, FusedActivation):
        return op.activation_range()[0]
    return -math.inf


def _legal(op: Operation, pad: Pad, pads: tuple[int, ...]) -> bool:
    if isinstance(op, Conv2d):
        return pad.value == 0
    if op.ceil_mode:
        return False
    if isinstance(op, AvgPool2d):
        return pad.value == 0 and (op.count_include_pad or not any(op.pads))
    # MaxPool2d
    if tuple(op.dilations) != (1, 1) or not pad.inputs[0].type.dtype.is_float:
        return False
    kh, kw = op.kernel
    if any(p >= k for p, k in zip(pads, (kh, kw, kh, kw))):
        return False
    return pad.value == -math.inf or pad.value <= lower_bound(pad.inputs[0])


class FoldPadIntoWindow(RewritePattern):
    """conv2d/avg_pool2d/max_pool2d(pad(x)) ⇒ the same op on x with larger pads."""

    roots = (Conv2d, AvgPool2d, MaxPool2d)

    def match_and_rewrite(self, op: Operation, graph: Graph) -> bool:
        pad = op.inputs[0].producer
        if not isinstance(pad, Pad):
            return False
        extra = spatial_pads(pad)
        if extra is None:
            return False
        pads = tuple(a + b for a, b in zip(op.pads, extra))
        if not _legal(op, pad, pads):
            return False
        padded = op.inputs[0]
        graph.set_operand(op, 0, pad.inputs[0])
        op.pads = pads
        if isinstance(op, AvgPool2d):
            op.count_include_pad = True
        erase_if_unused(graph, padded)
        return True


@register_pass
@dataclass(frozen=True)
class FusePadding(Pass):
    """Fold explicit zero Pads into the following conv/pool where that is exact."""

    name = "fuse-padding"

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [FoldPadIntoWindow()])
        return PassResult({"fused": counts["FoldPadIntoWindow"]})
