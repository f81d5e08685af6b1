"""BatchNormalization (inference form) and LRN."""

from __future__ import annotations

import math

from ...ir import ops
from . import spatial
from .registry import converter


@converter("BatchNormalization")
def convert_batch_norm(ctx):
    if ctx.attr("training_mode", 0):
        raise ctx.unsupported("training_mode=1 (batch statistics) is not supported")
    if ctx.opset < 9 and ctx.attr("spatial", 1) == 0:
        raise ctx.unsupported("spatial=0 (per-element statistics) is not supported")
    shape = ctx.shape(0)
    if len(shape) < 2:
        raise ctx.shape_error(f"expects an input of rank >= 2, got {list(shape)}")
    c = shape[1]
    params = []
    for i, role in enumerate(("scale", "bias", "mean", "var"), start=1):
        if math.prod(ctx.shape(i)) != c:
            raise ctx.shape_error(f"{role} has shape {list(ctx.shape(i))}, expected [{c}]")
        params.append(spatial.reshaped(ctx, i, (c,), role))
    ctx.emit(ops.BatchNorm(epsilon=float(ctx.attr("epsilon", 1e-5))), [ctx.value(0), *params])


@converter("LRN")
def convert_lrn(ctx):
    if "size" not in ctx.attrs:
        raise ctx.shape_error("LRN needs a size attribute")
    ctx.emit(ops.LRN(size=int(ctx.attr("size")), alpha=float(ctx.attr("alpha", 1e-4)),
                     beta=float(ctx.attr("beta", 0.75)), bias=float(ctx.attr("bias", 1.0))),
             [ctx.value(0)])
