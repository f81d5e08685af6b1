"""Pooling over the spatial axes of NCHW tensors."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation
from ..types import TensorType
from .registry import register_op
from .shape_rules import check_window, window_output


class _Pool2d(Operation):
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    ceil_mode: bool

    def infer(self, types):
        x = types[0]
        if x.rank != 4:
            raise self.error(f"expects a 4-D input, got {x}")
        n, c, h, w = x.shape
        check_window(self, self.kernel, self.strides, self.pads, self.dilations)
        oh = window_output(h, self.kernel[0], self.strides[0], self.pads[0], self.pads[2],
                           self.dilations[0], self.ceil_mode)
        ow = window_output(w, self.kernel[1], self.strides[1], self.pads[1], self.pads[3],
                           self.dilations[1], self.ceil_mode)
        if oh <= 0 or ow <= 0:
            raise self.error(f"window {list(self.kernel)} does not fit input {h}x{w}")
        return [TensorType((n, c, oh, ow), x.dtype, x.layout)]


@register_op
@dataclass(eq=False, kw_only=True)
class MaxPool2d(_Pool2d):
    OP_NAME = "max_pool2d"

    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False


@register_op
@dataclass(eq=False, kw_only=True)
class AvgPool2d(_Pool2d):
    """Average pooling; padded cells count in the divisor iff ``count_include_pad``."""

    OP_NAME = "avg_pool2d"

    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False
    count_include_pad: bool = False


class _GlobalPool(Operation):
    def infer(self, types):
        x = types[0]
        if x.rank < 3:
            raise self.error(f"expects rank >= 3 input, got {x}")
        return [x.with_shape(x.shape[:2] + (1,) * (x.rank - 2))]


@register_op
@dataclass(eq=False, kw_only=True)
class GlobalAvgPool(_GlobalPool):
    OP_NAME = "global_avg_pool"


@register_op
@dataclass(eq=False, kw_only=True)
class GlobalMaxPool(_GlobalPool):
    OP_NAME = "global_max_pool"
