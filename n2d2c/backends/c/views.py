"""Strided views of tensors in memory, and the loop nests that walk them.

A backend stores every tensor in some memory ("storage": an arena buffer, a
const weight array or a user pointer).  A ``View`` says where each element of a
tensor's *logical* (ONNX, row-major) index space lives: ``offset + sum(i_d *
strides[d])``.  A 4-D activation kept channel-last (NHWC) is simply a view with
strides ``(H*W*C, 1, W*C, C)``; a transpose, a slice or a broadcast is a view
too.  Kernels that only move or combine elements (copies, element-wise maps,
reductions) work on any view, so only convolutions and pooling care about the
physical layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence


ITEMSIZE = {"float32": 4, "float16": 2, "int8": 1, "uint8": 1, "int16": 2, "int32": 4,
            "int64": 8}


def row_major_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides = []
    step = 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(int(d), 1)
    return tuple(reversed(strides))


def nhwc_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Strides of a 4-D NCHW-indexed tensor stored channel-last."""
    n, c, h, w = shape
    return (h * w * c, 1, w * c, c)


@dataclass(frozen=True)
class Storage:
    """Memory that views point into.

    ``kind`` is "arena" (an activation buffer placed by the BufferPlan),
    "const" (a weight/constant array emitted by the backend), "input" or
    "output" (the caller's pointers, ``index`` says which).
    """

    kind: str
    name: str
    size: int                 # elements
    index: int = 0
    dtype: str = "float32"    # numpy name of the element type

    @property
    def itemsize(self) -> int:
        return ITEMSIZE[self.dtype]

    def __repr__(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class View:
    storage: Storage
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @staticmethod
    def dense(storage: Storage, shape: Sequence[int], layout: str = "logical",
              offset: int = 0) -> "View":
        shape = tuple(int(d) for d in shape)
        strides = nhwc_strides(shape) if layout == "nhwc" else row_major_strides(shape)
        return View(storage, offset, shape, canonical_strides(shape, strides))

    def is_row_major(self) -> bool:
        """Elements lie contiguously in logical (row-major) order."""
        return canonical_strides(self.shape, self.strides) == canonical_strides(
            self.shape, row_major_strides(self.shape))

    def is_nhwc(self) -> bool:
        return self.rank == 4 and canonical_strides(self.shape, self.strides) == canonical_strides(
            self.shape, nhwc_strides(self.shape))

    def layout(self) -> str:
        """'logical' when row-major, 'nhwc' when channel-last 4-D, else 'strided'."""
        if self.is_row_major():
            return "logical"
        if self.is_nhwc():
            return "nhwc"
        return "strided"

    # -- derived views ---------------------------------------------------------
    def permute(self, perm: Sequence[int]) -> "View":
        return replace(self, shape=tuple(self.shape[p] for p in perm),
                       strides=tuple(self.strides[p] for p in perm))

    def slice(self, axis: int, start: int, size: int, step: int = 1) -> "View":
        shape = list(self.shape)
        strides = list(self.strides)
        shape[axis] = size
        offset = self.offset + start * strides[axis]
        strides[axis] *= step
        return View(self.storage, offset, tuple(shape), canonical_strides(shape, strides))

    def broadcast_to(self, shape: Sequence[int]) -> "View":
        """Numpy broadcasting: missing leading axes and size-1 axes get stride 0."""
        shape = tuple(shape)
        lead = len(shape) - self.rank
        strides = [0] * lead
        for d, (size, stride) in enumerate(zip(self.shape, self.strides)):
            strides.append(0 if size == 1 and shape[lead + d] != 1 else stride)
        return View(self.storage, self.offset, shape, canonical_strides(shape, strides))


def canonical_strides(shape: Sequence[int], strides: Sequence[int]) -> tuple[int, ...]:
    """Strides of size-1 axes never matter; make them 0 so equal layouts compare equal."""
    return tuple(0 if d == 1 else int(s) for d, s in zip(shape, strides))


@dataclass(frozen=True)
class Loop:
    """One loop of a nest: ``extent`` iterations, and each view's stride per iteration."""

    extent: int
    strides: tuple[int, ...]


def loop_nest(shape: Sequence[int], views: Sequence[Sequence[int]], *,
              order_by: int = 0, merge: bool = True) -> list[Loop]:
    """The shortest loop nest that walks ``shape`` with one stride list per view.

    Loops are ordered by the descending stride of view ``order_by`` (the output,
    so that it is written sequentially), size-1 axes are dropped and adjacent
    loops that every view walks contiguously are merged into one.
    """
    loops = [Loop(int(e), tuple(int(v[d]) for v in views))
             for d, e in enumerate(shape) if e != 1]
    loops.sort(key=lambda lp: -abs(lp.strides[order_by]))  # stable: ties keep axis order
    if not merge:
        return loops
    merged: list[Loop] = []
    for lp in loops:
        if merged:
            outer = merged[-1]
            if all(so == si * lp.extent for so, si in zip(outer.strides, lp.strides)):
                merged[-1] = Loop(outer.extent * lp.extent, lp.strides)
                continue
        merged.append(lp)
    return merged
