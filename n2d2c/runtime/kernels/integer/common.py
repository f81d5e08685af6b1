"""Exact rounding helpers shared by the integer kernels (numpy, vectorised)."""

from __future__ import annotations

import math

import numpy as np


def round_half_away(t) -> np.ndarray:
    """Nearest integer of float64 ``t``, ties away from zero (C ``round``), exactly:
    ``t - trunc(t)`` has no rounding error, so no 0.49999999999999994 + 0.5 pitfall."""
    t = np.asarray(t, dtype=np.float64)
    r = np.trunc(t)
    with np.errstate(invalid="ignore"):
        d = t - r
        return r + (d >= 0.5) - (d <= -0.5)


def divide_round_half_away(total: np.ndarray, count) -> np.ndarray:
    """``total / count`` rounded half away from zero, in exact integer arithmetic
    (``count`` > 0; int64 arrays or scalars)."""
    total = np.asarray(total, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    magnitude = (2 * np.abs(total) + count) // (2 * count)
    return np.where(total < 0, -magnitude, magnitude)


def int64(array) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.int64)


def saturated_bounds(lo: float, hi: float, dtype: np.dtype) -> tuple[int, int]:
    """Integer clamp bounds ``ceil(lo)``, ``floor(hi)`` saturated to ``dtype``'s range."""
    info = np.iinfo(dtype)
    low = info.min if lo == -math.inf else max(info.min, min(info.max, math.ceil(lo)))
    high = info.max if hi == math.inf else min(info.max, max(info.min, math.floor(hi)))
    return int(low), int(high)
