"""MaxPool (with its optional Indices), MaxUnpool, AveragePool and the global pools."""

from __future__ import annotations

import numpy as np

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
    if isinstance(op, ops.MaxPool2dWithIndices):
        _emit_with_indices(ctx, op, n == 1)
    else:
        spatial.finish(ctx, op, [spatial.lift_input(ctx, 0)], n == 1)


def _emit_with_indices(ctx, op, lifted: bool) -> None:
    """Both results of a max pool with indices; a lifted 1-D pool reshapes both back
    (a flat index into [N, C, 1, L] is the same number as into [N, C, L])."""
    x = spatial.lift_input(ctx, 0)
    if not lifted:
        ctx.emit(op, [x], outputs=(0, 1))
        return
    op.name = ctx.name
    ctx.graph.add(op, [x], [ctx.state.fresh(ctx.name), ctx.state.fresh(f"{ctx.name}.indices")])
    n, c, _, w = op.outputs[0].shape
    for k, value in enumerate(op.outputs):
        spatial.reshape_value(ctx, value, (n, c, w), f"out{k}", output=k)


@converter("MaxPool")
def convert_max_pool(ctx):
    if len(ctx.node.output) > 1 and ctx.node.output[1]:
        _pool(ctx, ops.MaxPool2dWithIndices, storage_order=int(ctx.attr("storage_order", 0)))
    else:
        _pool(ctx, ops.MaxPool2d)


@converter("MaxUnpool", static=(2,), any_dtype=(1,))
def convert_max_unpool(ctx):
    shape = ctx.shape(0)
    n = spatial.spatial_rank(ctx, len(shape), "unpooling")
    kernel = ctx.ints("kernel_shape")
    if kernel is None or len(kernel) != n:
        raise ctx.shape_error(f"kernel_shape {kernel} does not fit a {len(shape)}-D input")
    strides = ctx.ints("strides") or (1,) * n
    pads = ctx.ints("pads") or (0,) * (2 * n)
    if len(strides) != n or len(pads) != 2 * n:
        raise ctx.shape_error(f"strides {list(strides)} / pads {list(pads)} do not match a "
                              f"{n}-D window")
    output_shape = ()
    if ctx.has(2):
        output_shape = ctx.static_ints(2, "output_shape")
        if len(output_shape) != len(shape):
            raise ctx.shape_error(f"output_shape {list(output_shape)} does not have the "
                                  f"data's rank {len(shape)}")
        output_shape = tuple(output_shape[:2]) + spatial.as_2d(output_shape[2:], 1)
    lifted = n == 1
    data = spatial.lift_input(ctx, 0)
    indices = _indices(ctx, data.shape)
    op = ops.MaxUnpool2d(kernel=spatial.as_2d(kernel, 1), strides=spatial.as_2d(strides, 1),
                         pads=spatial.pads_2d(pads[:n], pads[n:]), output_shape=output_shape)
    spatial.finish(ctx, op, [data, indices], lifted)


def _indices(ctx, shape):
    """MaxUnpool's indices as an i64 value of the (lifted) data shape; constant indices
    become an i64 constant (run-time constants are otherwise float32 only)."""
    if not ctx.is_const(1):
        value = ctx.value(1)
        if value.type.rank == 3:  # a 1-D unpooling, lifted like its data
            return spatial.reshape_value(ctx, value, shape, "indices")
        return value
    array = ctx.const(1)
    if array.dtype.kind not in "iu":
        raise ctx.unsupported(f"indices must be integers, got {array.dtype}")
    if tuple(array.shape) != tuple(ctx.shape(0)):
        raise ctx.shape_error(f"indices have shape {list(array.shape)}, but the data has "
                              f"shape {list(ctx.shape(0))}")
    return ctx.constant(array.astype(np.int64).reshape(shape), "indices")


@converter("AveragePool")
def convert_average_pool(ctx):
    _pool(ctx, ops.AvgPool2d, count_include_pad=bool(ctx.attr("count_include_pad", 0)))


@converter("GlobalAveragePool")
def convert_global_average_pool(ctx):
    ctx.emit(ops.GlobalAvgPool(), [ctx.value(0)])


@converter("GlobalMaxPool")
def convert_global_max_pool(ctx):
    ctx.emit(ops.GlobalMaxPool(), [ctx.value(0)])
