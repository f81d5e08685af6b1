"""Constants: weights and other tensors known at compile time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import Operation
from ..types import DType, TensorType
from .registry import register_op


@register_op
@dataclass(eq=False, kw_only=True)
class Constant(Operation):
    OP_NAME = "constant"
    ARITY = (0, 0)

    value: np.ndarray = field(default_factory=lambda: np.zeros((), np.float32))

    def infer(self, types):
        try:
            dtype = DType.from_numpy(self.value.dtype)
        except KeyError:
            raise self.error(f"unsupported constant element type {self.value.dtype}") from None
        return [TensorType(self.value.shape, dtype)]
