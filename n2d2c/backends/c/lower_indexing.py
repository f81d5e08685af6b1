"""Lowering of the indexing ops (ir/ops/indexing.py) into kernel calls.

Most of them are one strided ``copy``: Expand reads a broadcast view (stride 0 along
the broadcast axes), Tile and the depth/space shuffles read and write views whose
axes are the op's axes split into finer ones (``split_view``), so that the
rearrangement is a permutation of strides and no kernel of their own is needed.
Gather, GatherElements and Trilu read an index per output element with ``take``; a
quantized graph's Lookup indexes its constant table by the 8-bit operand (``lut``), and
its IntSoftmax a constant exp table by each level's distance below its row's maximum
(``int_softmax``).
"""

from __future__ import annotations

import numpy as np

from ...errors import InternalError
from ...ir import ops
from .lowering import _comment
from .program import KernelCall, Lowering, lowers
from .views import Storage, View


def split_view(view: View, shape) -> View:
    """``view`` seen with ``shape``, whose axes split the view's axes in order (row-major,
    as a reshape that only splits would); any strides, no copy."""
    shape = tuple(int(d) for d in shape)
    if 0 in shape:
        return View(view.storage, view.offset, shape, (0,) * len(shape))
    source = [(n, s) for n, s in zip(view.shape, view.strides) if n != 1]
    strides = [0] * len(shape)
    taken, left, stride = 0, 1, 0
    for axis, d in enumerate(shape):
        if d == 1:
            continue
        if left == 1:
            if taken == len(source):
                raise InternalError(f"cannot split view {list(view.shape)} into {list(shape)}")
            left, stride = source[taken]
            taken += 1
        if left % d:
            raise InternalError(f"cannot split view {list(view.shape)} into {list(shape)}")
        left //= d
        strides[axis] = stride * left
    if taken != len(source) or left != 1:
        raise InternalError(f"cannot split view {list(view.shape)} into {list(shape)}")
    return View(view.storage, view.offset, shape, tuple(strides))


def _copy(low: Lowering, op, source: View) -> None:
    """One strided copy of ``source`` into ``op``'s result, seen with source's shape."""
    y = low.output(op.output)
    low.emit(KernelCall("copy", {"x": source}, {"y": split_view(y, source.shape)}))


@lowers(ops.Expand)
def lower_expand(low: Lowering, op) -> None:
    shape = op.output.shape
    low.begin("op", op.name, _comment(op, extra="broadcast view, copied"), op)
    _copy(low, op, low.view(op.inputs[0]).broadcast_to(shape))


@lowers(ops.Tile)
def lower_tile(low: Lowering, op) -> None:
    # y seen as [r0, n0, r1, n1, ...]: x along each n axis, stride 0 along each r axis.
    x = low.view(op.inputs[0])
    split = tuple(d for pair in zip(op.repeats, x.shape) for d in pair)
    strides = tuple(s for stride in x.strides for s in (0, stride))
    low.begin("op", op.name, _comment(op, extra=f"repeats {list(op.repeats)}"), op)
    _copy(low, op, View(x.storage, x.offset, split, strides))


@lowers(ops.DepthToSpace, ops.SpaceToDepth)
def lower_block_shuffle(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    split, perm = op.rearrangement(x.shape)
    source = split_view(x, split).permute(perm)
    low.begin("op", op.name, _comment(op, extra=f"blocksize {op.blocksize}, {op.mode}"), op)
    _copy(low, op, source)


def _take(low: Lowering, op, x: View, ind: View) -> None:
    y = low.output(op.output)
    low.emit(KernelCall("take", {"x": x, "ind": ind}, {"y": y}))


def _with_axis_last(x: View, shape, strides, axis: int) -> View:
    """x seen over y's index space (``shape``/``strides``) plus x's ``axis`` last, the
    axis the indices pick along."""
    return View(x.storage, x.offset, (*shape, x.shape[axis]), (*strides, x.strides[axis]))


@lowers(ops.Gather)
def lower_gather(low: Lowering, op) -> None:
    x, ind = low.view(op.inputs[0]), low.view(op.inputs[1])
    axis = op.resolved_axis(x.rank)
    ranks = (axis, ind.rank, x.rank - axis - 1)   # y's axes: before, indices', after
    x_over_y = _with_axis_last(x, op.output.shape, x.strides[:axis] + (0,) * ranks[1]
                               + x.strides[axis + 1:], axis)
    ind_over_y = View(ind.storage, ind.offset, op.output.shape,
                      (0,) * ranks[0] + ind.strides + (0,) * ranks[2])
    low.begin("op", op.name, _comment(op, extra=f"axis {axis}"), op)
    _take(low, op, x_over_y, ind_over_y)


@lowers(ops.GatherElements)
def lower_gather_elements(low: Lowering, op) -> None:
    x, ind = low.view(op.inputs[0]), low.view(op.inputs[1])
    axis = op.resolved_axis(x.rank)
    strides = tuple(0 if a == axis else s for a, s in enumerate(x.strides))
    low.begin("op", op.name, _comment(op, extra=f"axis {axis}"), op)
    _take(low, op, _with_axis_last(x, ind.shape, strides, axis), ind)


@lowers(ops.Trilu)
def lower_trilu(low: Lowering, op) -> None:
    """A take from a size-1 axis: index 0 keeps an element, index 1 is past the axis and
    gives the 0 ``take`` writes for an index out of range (exactly, whatever x holds)."""
    x = low.view(op.inputs[0])
    rows, cols = x.shape[-2:]
    keep = np.array([[op.keeps(i, j) for j in range(cols)] for i in range(rows)], bool)
    table = _const_indices(low, f"{op.name}_triangle", np.where(keep, 0, 1))
    side = "upper" if op.upper else "lower"
    low.begin("op", op.name, _comment(op, extra=f"{side} triangle from diagonal {op.k}"), op)
    _take(low, op, View(x.storage, x.offset, (*x.shape, 1), (*x.strides, 0)),
          table.broadcast_to(x.shape))


@lowers(ops.Lookup)
def lower_lookup(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    table = low.view(op.inputs[1])
    extra = f"{op.function} as a table" if op.function else "table"
    low.begin("op", op.name, _comment(op, extra=extra), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("lut", {"x": x, "table": table}, {"y": y}, {"offset": op.offset()}))


@lowers(ops.IntSoftmax)
def lower_int_softmax(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    table = low.view(op.inputs[1])
    low.begin("op", op.name, _comment(op, extra=f"axis {op.axis}, exp table"), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("int_softmax", {"x": x, "table": table}, {"y": y},
                        {"axis": op.row_axis(), "levels": op.levels if op.dtype != "f32" else 0}))


def _const_indices(low: Lowering, name: str, array: np.ndarray) -> View:
    """A const int32 storage for indices the lowering derived (``const_array`` is float)."""
    array = np.ascontiguousarray(array, dtype=np.int32)
    storage = Storage("const", low.ident("c_" + name), int(array.size), dtype="int32")
    low.consts[storage.name] = array
    return View.dense(storage, array.shape)
