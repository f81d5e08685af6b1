"""Data movement: concatenation, reshaping, slicing, padding, resizing."""

from __future__ import annotations

from dataclasses import dataclass

import math

from ..graph import Operation
from ..types import DType
from .registry import register_op
from .shape_rules import normalize_axis


@register_op
@dataclass(eq=False, kw_only=True)
class Concat(Operation):
    OP_NAME = "concat"
    ARITY = (1, None)

    axis: int = 1

    def infer(self, types):
        first = types[0]
        axis = normalize_axis(self, self.axis, first.rank)
        total = 0
        for t in types:
            if t.rank != first.rank or t.dtype != first.dtype or any(
                    a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
                raise self.error(f"operands {[str(t) for t in types]} differ outside axis {axis}")
            total += t.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return [first.with_shape(shape)]


@register_op
@dataclass(eq=False, kw_only=True)
class Reshape(Operation):
    """Reshape to a fully static shape (the frontend resolves 0 and -1)."""

    OP_NAME = "reshape"

    shape: tuple[int, ...] = ()

    def infer(self, types):
        x = types[0]
        if math.prod(self.shape) != x.size or any(d < 0 for d in self.shape):
            raise self.error(f"cannot reshape {list(x.shape)} ({x.size} elements) to {list(self.shape)}")
        return [x.with_shape(self.shape)]


@register_op
@dataclass(eq=False, kw_only=True)
class Transpose(Operation):
    OP_NAME = "transpose"

    perm: tuple[int, ...] = ()

    def infer(self, types):
        x = types[0]
        if sorted(self.perm) != list(range(x.rank)):
            raise self.error(f"perm {list(self.perm)} is not a permutation of rank {x.rank}")
        return [x.with_shape(tuple(x.shape[p] for p in self.perm))]


@register_op
@dataclass(eq=False, kw_only=True)
class Slice(Operation):
    """Static strided slice; starts/ends already clamped by the frontend (ends may be -1
    meaning 'before index 0' for negative steps)."""

    OP_NAME = "slice"

    axes: tuple[int, ...] = ()
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()

    def slices(self, rank: int) -> tuple[slice, ...]:
        out = [slice(None)] * rank
        for axis, start, end, step in zip(self.axes, self.starts, self.ends, self.steps):
            out[axis] = slice(start, None if end < 0 else end, step)
        return tuple(out)

    def infer(self, types):
        x = types[0]
        if not len(self.axes) == len(self.starts) == len(self.ends) == len(self.steps):
            raise self.error("axes, starts, ends and steps must have the same length")
        if any(not 0 <= a < x.rank for a in self.axes) or 0 in self.steps:
            raise self.error(f"bad axes {list(self.axes)} or steps {list(self.steps)} for {x}")
        shape = list(x.shape)
        for axis, sl in enumerate(self.slices(x.rank)):
            shape[axis] = len(range(*sl.indices(x.shape[axis])))
        return [x.with_shape(shape)]


@register_op
@dataclass(eq=False, kw_only=True)
class Split(Operation):
    OP_NAME = "split"
    NUM_RESULTS = -1

    axis: int = 0
    sizes: tuple[int, ...] = ()

    def infer(self, types):
        x = types[0]
        axis = normalize_axis(self, self.axis, x.rank)
        if sum(self.sizes) != x.shape[axis] or any(s < 0 for s in self.sizes):
            raise self.error(f"sizes {list(self.sizes)} do not add up to {x.shape[axis]}")
        results = []
        for size in self.sizes:
            shape = list(x.shape)
            shape[axis] = size
            results.append(x.with_shape(shape))
        return results


@register_op
@dataclass(eq=False, kw_only=True)
class Pad(Operation):
    """Pad every axis; ``pads`` = begins of all axes then ends (ONNX order)."""

    OP_NAME = "pad"

    pads: tuple[int, ...] = ()
    mode: str = "constant"
    value: float = 0.0

    MODES = ("constant", "reflect", "edge")

    def infer(self, types):
        x = types[0]
        if len(self.pads) != 2 * x.rank:
            raise self.error(f"needs {2 * x.rank} pads for rank {x.rank}, got {len(self.pads)}")
        if self.mode not in self.MODES:
            raise self.error(f"mode {self.mode!r} is not one of {list(self.MODES)}")
        shape = [d + self.pads[i] + self.pads[i + x.rank] for i, d in enumerate(x.shape)]
        if any(d < 0 for d in shape):
            raise self.error(f"negative pads crop {list(x.shape)} below zero")
        return [x.with_shape(shape)]


@register_op
@dataclass(eq=False, kw_only=True)
class Resize(Operation):
    """Nearest or (multi)linear resize to the static shape ``sizes``.

    ``scales`` is kept separately because ONNX maps output to input coordinates
    with the scale the user gave, which can differ from sizes/input.  On integers
    (quant.py): nearest copies levels; linear weighs them with integer weights
    into an i32 accumulator (``integer.resize_weights``).
    """

    OP_NAME = "resize"

    sizes: tuple[int, ...] = ()
    scales: tuple[float, ...] = ()
    mode: str = "nearest"
    coordinate_transformation_mode: str = "half_pixel"
    nearest_mode: str = "round_prefer_floor"

    MODES = ("nearest", "linear")
    COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                        "align_corners", "asymmetric")
    NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")

    def infer(self, types):
        x = types[0]
        if len(self.sizes) != x.rank or len(self.scales) != x.rank:
            raise self.error(f"sizes and scales need {x.rank} entries")
        for what, value, allowed in (("mode", self.mode, self.MODES),
                                     ("coordinate_transformation_mode",
                                      self.coordinate_transformation_mode, self.COORDINATE_MODES),
                                     ("nearest_mode", self.nearest_mode, self.NEAREST_MODES)):
            if value not in allowed:
                raise self.error(f"{what} {value!r} is not one of {list(allowed)}")
        if x.dtype.is_integer and self.mode == "linear":
            if x.dtype.itemsize > 2:
                raise self.error(f"an integer linear resize takes 8/16-bit levels, got {x}")
            return [x.with_shape(self.sizes).with_dtype(DType.I32)]
        return [x.with_shape(self.sizes)]

    def resized_axes(self, shape: tuple[int, ...]) -> int:
        """How many axes change size (each multiplies an integer result by
        ``2 ** integer.RESIZE_WEIGHT_BITS``)."""
        return sum(1 for n, m, s in zip(shape, self.sizes, self.scales) if n != m or s != 1.0)
