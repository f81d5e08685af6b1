"""Element-wise functions the IR has no op for, built from ops it has.

The IR (and so every backend and the simulator) has no ``abs``, ``sqrt`` or
comparison op.  The few N2D2 layers that need them are lowered with these
exact (or documented, near-exact) constructions instead of new IR ops:

* ``abs(x) = max(x, -x)``: exact.
* ``step(x > t)``: ``clip((x - t) * 2**126, 0, 1)``.  In float32 a nonzero
  ``x - t`` is at least the smallest subnormal (2**-149), so the product is >= 1
  (clipped to 1) as soon as ``|x - t| >= 2**-126``, 0 when ``x <= t``; only a
  difference below 2**-126 (both operands within ~1e-38 of each other) gives a
  fraction.  NaN stays NaN.
* ``x / ||x||_2`` across channels: an LRN whose window covers every channel
  (size ``2C - 1``), ``alpha/size = 1``, ``beta = 1/2`` and a bias of 1e-30 so
  that an all-zero vector gives 0 rather than NaN.
"""

from __future__ import annotations

import numpy as np

from ...ir import Value
from ...ir import ops as O
from .context import LayerContext, nchw

STEP_GAIN = np.float32(2.0 ** 126)
L2_BIAS = 1e-30


def scalar(ctx: LayerContext, value: float, tag: str) -> Value:
    return ctx.const(np.array(value, dtype=np.float32), tag)


def abs_value(ctx: LayerContext, x: Value, tag: str) -> Value:
    neg = ctx.emit(O.Mul(), [x, scalar(ctx, -1.0, f"{tag}_minus1")], f"{tag}_neg")
    return ctx.emit(O.Max(), [x, neg], tag)


def step_greater(ctx: LayerContext, x: Value, threshold: float, tag: str) -> Value:
    """1.0 where ``x > threshold``, else 0.0 (see the module notes)."""
    diff = ctx.emit(O.Sub(), [x, scalar(ctx, threshold, f"{tag}_t")], f"{tag}_diff")
    big = ctx.emit(O.Mul(), [diff, ctx.const(STEP_GAIN, f"{tag}_gain")], f"{tag}_gain_mul")
    return ctx.emit(O.Clip(min=0.0, max=1.0), [big], tag)


def l2_normalize_channels(ctx: LayerContext, x: Value, tag: str) -> Value:
    """``x / sqrt(sum over channels of x**2)`` at every position."""
    x4 = ctx.as4d(x)
    channels = nchw(x4)[1]
    size = 2 * channels - 1
    out = ctx.emit(O.LRN(size=size, alpha=float(size), beta=0.5, bias=L2_BIAS), [x4], tag)
    if x.type.rank == 2:
        out = ctx.emit(O.Reshape(shape=x.shape), [out], f"{tag}_2d")
    return out


def channel_sum(ctx: LayerContext, x: Value, tag: str) -> Value:
    """Sum over the channel axis, kept as a size-1 axis."""
    channels = nchw(x)[1]
    mean = ctx.emit(O.ReduceMean(axes=(1,), keepdims=True), [x], f"{tag}_mean")
    return ctx.emit(O.Mul(), [mean, scalar(ctx, float(channels), f"{tag}_count")], tag)
