"""Helpers shared by the kernel modules."""

from __future__ import annotations

import numpy as np

from ...ir.ops.activation import activate


def f32(array) -> np.ndarray:
    """A C-contiguous float32 view/copy of ``array`` (the numba kernels' input form)."""
    return np.ascontiguousarray(array, dtype=np.float32)


def apply_activation(op, y: np.ndarray) -> np.ndarray:
    """``op``'s fused activation applied in place to a result the kernel owns
    (``n2d2c.ir.ops.activation.activate`` with numpy)."""
    return activate(np, op, y)
