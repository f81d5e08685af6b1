"""Tensor types of the IR: shape, element type and layout."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import math

import numpy as np


class DType(Enum):
    """Element types. The value is the spelling used in the textual IR."""

    F32 = "f32"
    F16 = "f16"
    I8 = "i8"
    U8 = "u8"
    I16 = "i16"
    I32 = "i32"
    I64 = "i64"
    BOOL = "i1"

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(_TO_NUMPY[self])

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize

    @property
    def is_float(self) -> bool:
        return self in (DType.F32, DType.F16)

    @property
    def is_integer(self) -> bool:
        return not self.is_float and self is not DType.BOOL

    @staticmethod
    def from_numpy(dtype) -> "DType":
        dtype = np.dtype(dtype)
        for dt, name in _TO_NUMPY.items():
            if np.dtype(name) == dtype:
                return dt
        raise KeyError(str(dtype))


_TO_NUMPY = {
    DType.F32: "float32", DType.F16: "float16", DType.I8: "int8", DType.U8: "uint8",
    DType.I16: "int16", DType.I32: "int32", DType.I64: "int64", DType.BOOL: "bool",
}


class Layout(Enum):
    """Memory order of a 4-D activation. NCHW is the default (ONNX's order)."""

    NCHW = "nchw"
    NHWC = "nhwc"


@dataclass(frozen=True)
class TensorType:
    """A statically shaped tensor type: ``tensor<1x3x32x32xf32>``."""

    shape: tuple[int, ...]
    dtype: DType = DType.F32
    layout: Layout = Layout.NCHW

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # Python ints: no silent int64 overflow

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def with_shape(self, shape) -> "TensorType":
        return TensorType(tuple(shape), self.dtype, self.layout)

    def with_dtype(self, dtype: DType) -> "TensorType":
        return TensorType(self.shape, dtype, self.layout)

    def __str__(self) -> str:
        dims = "".join(f"{d}x" for d in self.shape)
        layout = "" if self.layout is Layout.NCHW else f", {self.layout.value}"
        return f"tensor<{dims}{self.dtype.value}{layout}>"
