"""Indexing and rearranging data: gathers, broadcasts, tiles, depth/space shuffles, Trilu.

Every op here moves elements without arithmetic, so it is defined for any element
type (float activations, or the integer tensors of the quantized IR).  Indices are
i32 or i64 tensors, constant or computed at run time; a negative index counts from
the end of its axis (ONNX).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation
from ..types import DType
from .registry import register_op
from .shape_rules import broadcast_shapes, normalize_axis

INDEX_DTYPES = (DType.I32, DType.I64)


def _check_indices(op: Operation, indices) -> None:
    if indices.dtype not in INDEX_DTYPES:
        raise op.error(f"indices must be i32 or i64, got {indices.dtype.value}")


@dataclass(eq=False, kw_only=True)
class _Gathering(Operation):
    """(data, indices) along ``axis``: what Gather and GatherElements share."""

    ARITY = (2, 2)

    axis: int = 0

    def resolved_axis(self, rank: int) -> int:
        return normalize_axis(self, self.axis, rank)


@register_op
@dataclass(eq=False, kw_only=True)
class Gather(_Gathering):
    """``y = take(x, indices, axis)``: y's shape is x's with ``axis`` replaced by
    indices' shape (a scalar index removes the axis)."""

    OP_NAME = "gather"

    def infer(self, types):
        x, indices = types
        _check_indices(self, indices)
        if x.rank == 0:
            raise self.error("cannot gather from a scalar")
        axis = self.resolved_axis(x.rank)
        return [x.with_shape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])]


@register_op
@dataclass(eq=False, kw_only=True)
class GatherElements(_Gathering):
    """``y[i...] = x[i... with i_axis replaced by indices[i...]]`` (numpy's
    take_along_axis): y has indices' shape, which fits in x off ``axis``."""

    OP_NAME = "gather_elements"

    def infer(self, types):
        x, indices = types
        _check_indices(self, indices)
        if x.rank == 0 or indices.rank != x.rank:
            raise self.error(f"indices {indices} must have the rank of the data {x} (>= 1)")
        axis = self.resolved_axis(x.rank)
        if any(i > d for a, (i, d) in enumerate(zip(indices.shape, x.shape)) if a != axis):
            raise self.error(f"indices shape {list(indices.shape)} exceeds the data shape "
                             f"{list(x.shape)} off axis {axis}")
        return [x.with_shape(indices.shape)]


@register_op
@dataclass(eq=False, kw_only=True)
class Expand(Operation):
    """Broadcast x against the static ``shape`` (numpy rules, both ways: ONNX Expand)."""

    OP_NAME = "expand"

    shape: tuple[int, ...] = ()

    def infer(self, types):
        x = types[0]
        if any(d < 0 for d in self.shape):
            raise self.error(f"negative dimension in shape {list(self.shape)}")
        return [x.with_shape(broadcast_shapes(self, [x.shape, self.shape]))]


@register_op
@dataclass(eq=False, kw_only=True)
class Tile(Operation):
    """Repeat x ``repeats[d]`` times along each axis d."""

    OP_NAME = "tile"

    repeats: tuple[int, ...] = ()

    def infer(self, types):
        x = types[0]
        if len(self.repeats) != x.rank or any(r < 0 for r in self.repeats):
            raise self.error(f"needs {x.rank} non-negative repeats, got {list(self.repeats)}")
        return [x.with_shape(tuple(d * r for d, r in zip(x.shape, self.repeats)))]


@dataclass(eq=False, kw_only=True)
class BlockShuffle(Operation):
    """DepthToSpace and SpaceToDepth, NCHW: ``y = x.reshape(split).transpose(perm)
    .reshape(y.shape)``; ``rearrangement`` gives (split, perm), the one rule the
    simulator and the C backends both follow.  ``mode`` says how the channels of a
    block are ordered: DCR (depth-column-row, the default) or CRD (column-row-depth)."""

    MODES = ("DCR", "CRD")

    blocksize: int = 2
    mode: str = "DCR"

    def rearrangement(self, shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
        raise NotImplementedError

    def check_input(self, x) -> None:
        if x.rank != 4:
            raise self.error(f"expects a 4-D NCHW input, got {x}")
        if self.blocksize < 1:
            raise self.error(f"blocksize {self.blocksize} must be >= 1")
        if self.mode not in self.MODES:
            raise self.error(f"mode {self.mode!r} is not one of {list(self.MODES)}")


@register_op
@dataclass(eq=False, kw_only=True)
class DepthToSpace(BlockShuffle):
    """Move channels into b x b spatial blocks."""

    OP_NAME = "depth_to_space"

    def rearrangement(self, shape):
        n, c, h, w = shape
        b = self.blocksize
        if self.mode == "DCR":
            return (n, b, b, c // (b * b), h, w), (0, 3, 4, 1, 5, 2)
        return (n, c // (b * b), b, b, h, w), (0, 1, 4, 2, 5, 3)

    def infer(self, types):
        x = types[0]
        self.check_input(x)
        n, c, h, w = x.shape
        b = self.blocksize
        if c % (b * b):
            raise self.error(f"{c} channels are not a multiple of blocksize^2 = {b * b}")
        return [x.with_shape((n, c // (b * b), h * b, w * b))]


@register_op
@dataclass(eq=False, kw_only=True)
class SpaceToDepth(BlockShuffle):
    """Move each b x b spatial block into channels (the inverse of DepthToSpace in the
    same mode)."""

    OP_NAME = "space_to_depth"

    def rearrangement(self, shape):
        n, c, h, w = shape
        b = self.blocksize
        perm = (0, 3, 5, 1, 2, 4) if self.mode == "DCR" else (0, 1, 3, 5, 2, 4)
        return (n, c, h // b, b, w // b, b), perm

    def infer(self, types):
        x = types[0]
        self.check_input(x)
        n, c, h, w = x.shape
        b = self.blocksize
        if h % b or w % b:
            raise self.error(f"spatial size {h}x{w} is not a multiple of blocksize {b}")
        return [x.with_shape((n, c * b * b, h // b, w // b))]


@register_op
@dataclass(eq=False, kw_only=True)
class Trilu(Operation):
    """Keep the upper (``upper``) or lower triangle of the last two axes from the
    ``k``-th diagonal on (k > 0: above the main diagonal); the rest becomes 0."""

    OP_NAME = "trilu"

    upper: bool = True
    k: int = 0

    def keeps(self, row: int, col: int) -> bool:
        return col - row >= self.k if self.upper else col - row <= self.k

    def infer(self, types):
        x = types[0]
        if x.rank < 2:
            raise self.error(f"expects rank >= 2, got {x}")
        return [x]
