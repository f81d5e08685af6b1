"""Helpers shared by the kernel modules."""

from __future__ import annotations

import numpy as np


def f32(array) -> np.ndarray:
    """A C-contiguous float32 view/copy of ``array`` (the numba kernels' input form)."""
    return np.ascontiguousarray(array, dtype=np.float32)


def apply_activation(op, y: np.ndarray) -> np.ndarray:
    """Apply ``op``'s fused activation (``activation`` attribute, see
    ``n2d2c.ir.ops.activation``) to a result the kernel owns, in place."""
    kind = getattr(op, "activation", "none")
    if kind == "none":
        return y
    y = np.asarray(y)  # a 0-d numpy result may come back as a scalar
    if kind == "relu":
        np.maximum(y, 0, out=y)
    elif kind == "clip":
        np.clip(y, op.activation_min, op.activation_max, out=y)
    elif kind == "leaky_relu":
        np.multiply(y, np.where(y < 0, y.dtype.type(op.activation_alpha), y.dtype.type(1)), out=y)
    else:
        raise op.error(f"the simulator does not know the fused activation {kind!r}")
    return y
