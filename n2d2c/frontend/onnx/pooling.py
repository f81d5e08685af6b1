"""MaxPool, AveragePool and the global pools."""

from __future__ import annotations

from ...ir import ops
from . import spatial
from .registry import converter


def _pool(ctx, cls, **extra):
    shape = ctx.shape(0)
    n = spatial.spatial_rank(ctx, len(shape), "pooling")
    kernel = ctx.ints("kernel_shape")
    if kernel is None or len(kernel) != n:
        raise ctx.shape_error(f"kernel_shape {kernel} does not fit a {len(shape)}-D input")
    strides, dilations, begins, ends = spatial.window_params(ctx, shape[2:], kernel)
    op = cls(kernel=spatial.as_2d(kernel, 1), strides=spatial.as_2d(strides, 1),
             pads=spatial.pads_2d(begins, ends), dilations=spatial.as_2d(dilations, 1),
             ceil_mode=bool(ctx.attr("ceil_mode", 0)), **extra)
    spatial.finish(ctx, op, [spatial.lift_input(ctx, 0)], n == 1)


@converter("MaxPool")
def convert_max_pool(ctx):
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        raise ctx.unsupported("the Indices output (argmax) is not supported")
    _pool(ctx, ops.MaxPool2d)


@converter("AveragePool")
def convert_average_pool(ctx):
    _pool(ctx, ops.AvgPool2d, count_include_pad=bool(ctx.attr("count_include_pad", 0)))


@converter("GlobalAveragePool")
def convert_global_average_pool(ctx):
    ctx.emit(ops.GlobalAvgPool(), [ctx.value(0)])


@converter("GlobalMaxPool")
def convert_global_max_pool(ctx):
    ctx.emit(ops.GlobalMaxPool(), [ctx.value(0)])
