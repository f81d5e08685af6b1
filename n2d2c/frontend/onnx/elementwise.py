"""Broadcasting arithmetic, variadic ops, activations, Clip and Softmax."""

from __future__ import annotations

import math

import numpy as np

from ...ir import ops
from . import spatial
from .params import legacy_broadcast, normalize_axes
from .registry import converter

_BINARY = {"Add": ops.Add, "Sub": ops.Sub, "Mul": ops.Mul, "Div": ops.Div}


@converter(*_BINARY)
def convert_binary(ctx):
    b_shape = legacy_broadcast(ctx, ctx.shape(0), ctx.shape(1))
    ctx.emit(_BINARY[ctx.op_type](), [ctx.value(0), spatial.reshaped(ctx, 1, b_shape, "b")])


_VARIADIC = {"Sum": ops.Add, "Max": ops.Max, "Min": ops.Min, "Mean": ops.Add}


@converter(*_VARIADIC)
def convert_variadic(ctx):
    """Left-to-right chain of binary ops; the last one produces the node's result."""
    values = [ctx.value(i) for i in range(ctx.num_inputs) if ctx.has(i)]
    mean = ctx.op_type == "Mean" and len(values) > 1
    if len(values) == 1:
        ctx.emit(ops.Identity(), values)
        return
    acc = values[0]
    for k, v in enumerate(values[1:], start=1):
        last = k == len(values) - 1 and not mean
        acc = ctx.emit(_VARIADIC[ctx.op_type](), [acc, v], suffix=None if last else str(k),
                       outputs=0 if last else None).output
    if mean:
        scale = ctx.constant(np.array(1.0 / len(values), np.float32), "scale")
        ctx.emit(ops.Mul(), [acc, scale])


_UNARY = {"Relu": ops.Relu, "Sigmoid": ops.Sigmoid, "Tanh": ops.Tanh,
          "Softplus": ops.Softplus,
          "HardSwish": ops.HardSwish, "Mish": ops.Mish}


@converter(*_UNARY)
def convert_unary(ctx):
    ctx.emit(_UNARY[ctx.op_type](), [ctx.value(0)])


@converter("Identity", any_dtype=True)
def convert_identity(ctx):
    ctx.emit(ops.Identity(), [ctx.value(0)])


@converter("LeakyRelu")
def convert_leaky_relu(ctx):
    ctx.emit(ops.LeakyRelu(alpha=float(ctx.attr("alpha", 0.01))), [ctx.value(0)])


@converter("Swish")
def convert_swish(ctx):
    ctx.emit(ops.Swish(alpha=float(ctx.attr("alpha", 1.0))), [ctx.value(0)])


@converter("HardSigmoid")
def convert_hard_sigmoid(ctx):
    ctx.emit(ops.HardSigmoid(alpha=float(ctx.attr("alpha", 0.2)),
                             beta=float(ctx.attr("beta", 0.5))), [ctx.value(0)])


@converter("PRelu")
def convert_prelu(ctx):
    x_shape, slope_shape = ctx.shape(0), ctx.shape(1)
    if ctx.opset < 7 and len(slope_shape) == 1 and len(x_shape) > 2 \
            and slope_shape[0] == x_shape[1] != 1:
        # PRelu-6 applied a [C] slope per channel; numpy broadcasting would not.
        slope_shape = (x_shape[1],) + (1,) * (len(x_shape) - 2)
    ctx.emit(ops.PRelu(), [ctx.value(0), spatial.reshaped(ctx, 1, slope_shape, "slope")])


@converter("Dropout", static=(1, 2))
def convert_dropout(ctx):
    if ctx.opset >= 12:
        ratio = ctx.static_scalar(1, "ratio") if ctx.has(1) else 0.5
        training = bool(ctx.static_scalar(2, "training_mode")) if ctx.has(2) else False
    else:
        # Before opset 7 "is_test=0" meant training, but exporters left it unset
        # in inference graphs, so it is ignored like in other inference runtimes.
        ratio = float(ctx.attr("ratio", 0.5))
        training = False
    if training:
        raise ctx.unsupported("training-mode dropout is random; export the model for inference")
    ctx.emit(ops.Dropout(ratio=float(ratio)), [ctx.value(0)])
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        ctx.set_const(1, np.ones(ctx.shape(0), bool))  # inference keeps every element


@converter("Clip")
def convert_clip(ctx):
    """Constant bounds become attributes; run-time bounds become max/min ops."""
    x = ctx.value(0)
    if ctx.opset < 11:
        lo = float(ctx.attr("min", -math.inf))
        hi = float(ctx.attr("max", math.inf))
        ctx.emit(ops.Clip(min=lo, max=hi), [x])
        return
    bounds = {"min": 1, "max": 2}
    if all(not ctx.has(i) or ctx.is_const(i) for i in bounds.values()):
        lo = ctx.static_scalar(1, "min") if ctx.has(1) else -math.inf
        hi = ctx.static_scalar(2, "max") if ctx.has(2) else math.inf
        ctx.emit(ops.Clip(min=lo, max=hi), [x])
        return
    # min(max(x, lo), hi): also right when lo > hi (ONNX then gives hi everywhere).
    if ctx.has(1):
        last = not ctx.has(2)
        x = ctx.emit(ops.Max(), [x, ctx.value(1)], suffix=None if last else "min",
                     outputs=0 if last else None).output
    if ctx.has(2):
        ctx.emit(ops.Min(), [x, ctx.value(2)])


@converter("Softmax", "LogSoftmax")
def convert_softmax(ctx):
    cls = ops.Softmax if ctx.op_type == "Softmax" else ops.LogSoftmax
    shape = ctx.shape(0)
    rank = len(shape)
    if ctx.opset >= 13:
        axis = normalize_axes(ctx, [int(ctx.attr("axis", -1))], rank, "axis")[0]
        ctx.emit(cls(axis=axis), [ctx.value(0)])
        return
    # Before opset 13 the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])]
    # and normalised over the whole second dimension.
    axis = normalize_axes(ctx, [int(ctx.attr("axis", 1))], max(rank, 1), "axis")[0]
    if axis >= rank - 1:
        ctx.emit(cls(axis=-1), [ctx.value(0)])
        return
    flat = (math.prod(shape[:axis]), math.prod(shape[axis:]))
    x = spatial.reshape_value(ctx, ctx.value(0), flat, "in")
    y = ctx.emit(cls(axis=1), [x], outputs=None).output
    spatial.reshape_value(ctx, y, shape, "out", output=0)
