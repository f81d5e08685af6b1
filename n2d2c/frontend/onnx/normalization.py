"""BatchNormalization (inference form), LRN, and the normalizations written as the math
they stand for: LayerNormalization (opset 17), InstanceNormalization and
GroupNormalization (opset 18: scale and bias per group; opset 21: per channel).

The last three are ``(x - mean) / sqrt(var + epsilon) * scale + bias`` with the mean and
the variance reduce-means over a group of elements (``standardize``).  They are
decomposed at import rather than given IR ops of their own: the C backends then need no
kernel for them -- a reduce-mean, broadcasting element-wise maps and, for groups, a
reshape that is only a view of row-major data -- the quantizer leaves them float
without a special case, and the ONNX export writes the pieces.  The price is a few more
passes over the activation than one fused kernel would make; these are memory-bound
loops, cheap next to the convolutions around a normalization in the networks that use
them (style transfer, UNets, transformers).
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import Value, ops
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


def _scalar(ctx, x: Value, value: float, suffix: str) -> Value:
    return ctx.constant(np.array(value, x.type.dtype.numpy), suffix)


def standardize(ctx, x: Value, axes: tuple[int, ...], epsilon: float, *,
                output: int | None = None, mean_output: int | None = None,
                inv_std_output: int | None = None) -> Value:
    """``(x - mean) / sqrt(var + epsilon)`` over ``axes`` (non-empty); the ``*output``
    arguments make a step the node's ONNX result of that index (LayerNormalization's
    optional Mean and InvStdDev)."""
    eps = _scalar(ctx, x, epsilon, "epsilon")
    mean = ctx.emit(ops.ReduceMean(axes=axes), [x], suffix="mean", outputs=mean_output)
    centred = ctx.emit(ops.Sub(), [x, mean.output], suffix="centred", outputs=None)
    square = ctx.emit(ops.Mul(), [centred.output, centred.output], suffix="square", outputs=None)
    var = ctx.emit(ops.ReduceMean(axes=axes), [square.output], suffix="var", outputs=None)
    var_eps = ctx.emit(ops.Add(), [var.output, eps], suffix="var_eps", outputs=None)
    std = ctx.emit(ops.Sqrt(), [var_eps.output], suffix="std", outputs=None)
    if inv_std_output is not None:
        ctx.emit(ops.Reciprocal(), [std.output], suffix="inv_std", outputs=inv_std_output)
    return ctx.emit(ops.Div(), [centred.output, std.output], suffix="normed",
                    outputs=output).output


def _affine(ctx, y: Value, scale: Value | None, bias: Value | None,
            output: int | None = 0) -> Value:
    """``y * scale + bias`` (either may be None); the last op gives ONNX result ``output``
    (and then carries the node's own name)."""
    if scale is not None:
        last = bias is None and output is not None
        y = ctx.emit(ops.Mul(), [y, scale], suffix=None if last else "scaled",
                     outputs=output if bias is None else None).output
    if bias is not None:
        y = ctx.emit(ops.Add(), [y, bias], suffix=None if output is not None else "shifted",
                     outputs=output).output
    return y


@converter("LayerNormalization")
def convert_layer_norm(ctx):
    x = ctx.value(0)
    rank = x.type.rank
    axis = int(ctx.attr("axis", -1))
    if not -rank <= axis < rank:
        raise ctx.shape_error(f"axis {axis} is outside a rank-{rank} input")
    wants = [k for k in (1, 2) if k < len(ctx.node.output) and ctx.node.output[k]]
    affine = ctx.has(1) or ctx.has(2)
    normed = standardize(ctx, x, tuple(range(axis % rank, rank)),
                         float(ctx.attr("epsilon", 1e-5)), output=None if affine else 0,
                         mean_output=1 if 1 in wants else None,
                         inv_std_output=2 if 2 in wants else None)
    if affine:
        _affine(ctx, normed, ctx.value(1) if ctx.has(1) else None,
                ctx.value(2) if ctx.has(2) else None)


def _channel_params(ctx, size: int, shape: tuple[int, ...]) -> list[Value]:
    """Scale (input 1) and bias (input 2), each of ``size`` elements, reshaped to
    ``shape`` to broadcast over the (grouped) activation."""
    params = []
    for i, role in ((1, "scale"), (2, "bias")):
        if not ctx.has(i):
            raise ctx.shape_error(f"the {role} input is missing")
        if math.prod(ctx.shape(i)) != size or len(ctx.shape(i)) != 1:
            raise ctx.shape_error(f"{role} has shape {list(ctx.shape(i))}, expected [{size}]")
        params.append(spatial.reshaped(ctx, i, shape, role))
    return params


def _normalize_groups(ctx, groups: int, per_channel: bool) -> None:
    """Normalize each of ``groups`` groups of channels of every sample over the group's
    channels and positions, then scale and shift per channel or per group."""
    x = ctx.value(0)
    shape = x.type.shape
    rank = len(shape)
    c = shape[1]
    eps = float(ctx.attr("epsilon", 1e-5))
    if groups == c:  # one channel per group: reduce over the positions in place
        normed = standardize(ctx, x, tuple(range(2, rank)), eps)
        scale, bias = _channel_params(ctx, c, (c,) + (1,) * (rank - 2))
        _affine(ctx, normed, scale, bias)
        return
    grouped = (shape[0], groups, math.prod(shape[2:]) * (c // groups))
    normed = standardize(ctx, spatial.reshape_value(ctx, x, grouped, "grouped"), (2,), eps)
    if per_channel:
        normed = spatial.reshape_value(ctx, normed, shape, "ungrouped")
        scale, bias = _channel_params(ctx, c, (c,) + (1,) * (rank - 2))
        _affine(ctx, normed, scale, bias)
    else:
        scale, bias = _channel_params(ctx, groups, (groups, 1))
        normed = _affine(ctx, normed, scale, bias, output=None)
        spatial.reshape_value(ctx, normed, shape, "ungrouped", output=0)


@converter("InstanceNormalization")
def convert_instance_norm(ctx):
    shape = ctx.shape(0)
    if len(shape) < 3:
        raise ctx.shape_error(f"expects an input of rank >= 3 (N, C, D1, ...), got {list(shape)}")
    _normalize_groups(ctx, shape[1], per_channel=True)


@converter("GroupNormalization")
def convert_group_norm(ctx):
    shape = ctx.shape(0)
    if len(shape) < 2:
        raise ctx.shape_error(f"expects an input of rank >= 2 (N, C, ...), got {list(shape)}")
    if "num_groups" not in ctx.attrs:
        raise ctx.shape_error("GroupNormalization needs a num_groups attribute")
    groups = int(ctx.attr("num_groups"))
    if groups < 1 or shape[1] % groups:
        raise ctx.shape_error(f"num_groups {groups} does not divide the {shape[1]} channels")
    # Opset 21 made scale and bias per channel (opset 18's per-group form was deprecated).
    # stash_type (21) asks for the statistics in float32 at least: they are, in the IR.
    _normalize_groups(ctx, groups, per_channel=ctx.opset >= 21)
