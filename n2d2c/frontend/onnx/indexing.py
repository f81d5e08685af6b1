"""Gather, GatherElements, Expand, Tile, DepthToSpace, SpaceToDepth and Trilu on run-time
tensors.  With all inputs constant, Gather, Expand and Tile fold instead (folding.py)."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ...ir.ops.indexing import INDEX_DTYPES, BlockShuffle
from . import params
from .registry import converter

_INDEX_NUMPY = tuple(dt.numpy for dt in INDEX_DTYPES)


def _indices(ctx, size: int, axis: int):
    """Input #1 as an IR value: a constant (checked against ``size`` here, once) or a
    run-time index tensor, int32 or int64 either way."""
    array = ctx.const(1)
    if array is None:
        value = ctx.value(1)
        if value.type.dtype not in INDEX_DTYPES:
            raise ctx.unsupported(f"indices must be int32 or int64, got {value.type.dtype.value}")
        return value
    if array.dtype not in _INDEX_NUMPY:
        raise ctx.unsupported(f"indices must be int32 or int64, got {array.dtype}")
    bad = (array < -size) | (array >= size)
    if bad.any():
        raise ctx.shape_error(f"index {int(array[bad].flat[0])} is out of range for axis "
                              f"{axis} of size {size}")
    return ctx.constant(array, "indices")


@converter("Gather", "GatherElements", any_dtype=True)
def convert_gather(ctx):
    rank = ctx.rank(0)
    axis = params.axis_attr(ctx, rank, 0)
    op = ops.Gather(axis=axis) if ctx.op_type == "Gather" else ops.GatherElements(axis=axis)
    ctx.emit(op, [ctx.value(0), _indices(ctx, ctx.shape(0)[axis], axis)])


@converter("Expand", static=(1,), any_dtype=True)
def convert_expand(ctx):
    ctx.emit(ops.Expand(shape=ctx.static_ints(1, "shape")), [ctx.value(0)])


@converter("Tile", static=(1,), any_dtype=True)
def convert_tile(ctx):
    ctx.emit(ops.Tile(repeats=ctx.static_ints(1, "repeats")), [ctx.value(0)])


@converter("DepthToSpace", "SpaceToDepth", any_dtype=True)
def convert_block_shuffle(ctx):
    # ``blocksize`` is required: the loader's onnx.checker refuses a node without it.
    # SpaceToDepth has a ``mode`` from opset 28 on (DCR before, as the default is).
    mode = ctx.attr("mode", "DCR")
    if mode not in BlockShuffle.MODES:
        raise ctx.unsupported(f"mode {mode!r} is not one of {list(BlockShuffle.MODES)}")
    cls = ops.DepthToSpace if ctx.op_type == "DepthToSpace" else ops.SpaceToDepth
    ctx.emit(cls(blocksize=int(ctx.attr("blocksize")), mode=mode), [ctx.value(0)])


@converter("Trilu", static=(1,), any_dtype=True)
def convert_trilu(ctx):
    k = 0
    if ctx.has(1):
        array = ctx.static(1, "k")
        if array.size != 1 or array.dtype.kind not in "iu":
            raise ctx.unsupported(f"k must be one integer, got {array.dtype} of shape "
                                  f"{list(array.shape)}")
        k = int(np.asarray(array).reshape(-1)[0])
    ctx.emit(ops.Trilu(upper=bool(ctx.attr("upper", 1)), k=k), [ctx.value(0)])
