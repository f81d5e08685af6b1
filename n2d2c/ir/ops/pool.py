"""Pooling over the spatial axes of NCHW tensors."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation
from ..types import DType, TensorType
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
class MaxPool2dWithIndices(_Pool2d):
    """Max pooling that also returns where each maximum came from (ONNX MaxPool's
    ``Indices``): an i64 flat index into the whole input, ``((n*C + c)*H + h)*W + w``
    (``storage_order = 0``) or ``(n*C + c)*H*W + w*H + h`` (``storage_order = 1``).

    A separate op rather than an attribute of ``max_pool2d``: passes that rewrite
    max pooling (pad fusion, quantization) would silently change the indices.
    """

    OP_NAME = "max_pool2d_with_indices"
    NUM_RESULTS = 2

    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False
    storage_order: int = 0

    def infer(self, types):
        if not types[0].dtype.is_float:
            raise self.error(f"expects a float input, got {types[0]}")
        if self.storage_order not in (0, 1):
            raise self.error(f"storage_order must be 0 (row major) or 1 (column major), "
                             f"got {self.storage_order}")
        [y] = super().infer(types)
        return [y, y.with_dtype(DType.I64)]


@register_op
@dataclass(eq=False, kw_only=True)
class MaxUnpool2d(Operation):
    """Scatter ``data`` into zeros at the flat ``indices`` of ``max_pool2d_with_indices``.

    The output is ``(in - 1)*stride + kernel - pad_begin - pad_end`` along each
    spatial axis (ONNX MaxUnpool), or ``output_shape`` (N, C, H, W) when given,
    which may not be smaller.  Two data cells with the same index: the later one
    wins (onnxruntime), or with ``accumulate`` they add up (N2D2's UnpoolCell runs
    the pooling's backward pass, which sums).
    """

    OP_NAME = "max_unpool2d"
    ARITY = (2, 2)

    kernel: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    output_shape: tuple[int, ...] = ()
    accumulate: bool = False

    def infer(self, types):
        x, indices = types
        if x.rank != 4 or not x.dtype.is_float:
            raise self.error(f"expects 4-D float data, got {x}")
        if indices.dtype is not DType.I64 or indices.shape != x.shape:
            raise self.error(f"indices must be i64 with the data's shape {list(x.shape)}, "
                             f"got {indices}")
        check_window(self, self.kernel, self.strides, self.pads, (1, 1))
        n, c, h, w = x.shape
        inferred = (n, c) + tuple(
            (size - 1) * s + k - self.pads[axis] - self.pads[axis + 2]
            for axis, (size, k, s) in enumerate(zip((h, w), self.kernel, self.strides)))
        if min(inferred[2:]) <= 0:
            raise self.error(f"pads {list(self.pads)} leave no output for {h}x{w} data with "
                             f"kernel {list(self.kernel)} and strides {list(self.strides)}")
        if not self.output_shape:
            return [x.with_shape(inferred)]
        shape = tuple(self.output_shape)
        if len(shape) != 4 or shape[:2] != (n, c) or any(
                d < least for d, least in zip(shape[2:], inferred[2:])):
            raise self.error(f"output_shape {list(shape)} must be 4-D with the data's batch "
                             f"and channels and at least the inferred {list(inferred)}")
        return [x.with_shape(shape)]


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
