"""Helpers shared by the integer kernels; their arithmetic lives in n2d2c/ir/integer.py."""

from __future__ import annotations

import numpy as np


def int64(array) -> np.ndarray:
    """``array`` as a contiguous int64 array (what the numba kernels take)."""
    return np.ascontiguousarray(array, dtype=np.int64)
