"""Data movement on run-time tensors; shapes, axes and pads must be static.  Moving data
works on any element type (``any_dtype``)."""

from __future__ import annotations

from ...ir import ops
from . import params
from .registry import converter


@converter("Concat", any_dtype=True)
def convert_concat(ctx):
    values = [ctx.value(i) for i in range(ctx.num_inputs) if ctx.has(i)]
    axis = params.axis_attr(ctx, values[0].type.rank, 1)
    ctx.emit(ops.Concat(axis=axis), values)


@converter("Reshape", static=(1,), any_dtype=True)
def convert_reshape(ctx):
    ctx.emit(ops.Reshape(shape=params.reshape_target(ctx, ctx.shape(0))), [ctx.value(0)])


@converter("Flatten", any_dtype=True)
def convert_flatten(ctx):
    ctx.emit(ops.Reshape(shape=params.flatten_shape(ctx, ctx.shape(0))), [ctx.value(0)])


@converter("Squeeze", static=(1,), any_dtype=True)
def convert_squeeze(ctx):
    ctx.emit(ops.Reshape(shape=params.squeeze_shape(ctx, ctx.shape(0))), [ctx.value(0)])


@converter("Unsqueeze", static=(1,), any_dtype=True)
def convert_unsqueeze(ctx):
    ctx.emit(ops.Reshape(shape=params.unsqueeze_shape(ctx, ctx.shape(0))), [ctx.value(0)])


@converter("Transpose", any_dtype=True)
def convert_transpose(ctx):
    ctx.emit(ops.Transpose(perm=params.transpose_perm(ctx, ctx.rank(0))), [ctx.value(0)])


@converter("Slice", static=(1, 2, 3, 4), any_dtype=True)
def convert_slice(ctx):
    axes, starts, ends, steps = params.slice_params(ctx, ctx.shape(0))
    ctx.emit(ops.Slice(axes=axes, starts=starts, ends=ends, steps=steps), [ctx.value(0)])


@converter("Split", static=(1,), any_dtype=True)
def convert_split(ctx):
    axis, sizes = params.split_sizes(ctx, ctx.shape(0))
    ctx.emit(ops.Split(axis=axis, sizes=sizes), [ctx.value(0)],
             outputs=range(len(ctx.node.output)))


@converter("Pad", static=(1, 2, 3), any_dtype=True)
def convert_pad(ctx):
    pads, mode, value = params.pad_params(ctx, ctx.rank(0))
    if mode not in ops.Pad.MODES:
        raise ctx.unsupported(f"mode {mode!r} is not supported (only {list(ops.Pad.MODES)})")
    ctx.emit(ops.Pad(pads=pads, mode=mode, value=value), [ctx.value(0)])
