"""Per-axis coordinate maps of ONNX Resize, computed at compile time.

The source coordinates come from n2d2c/ir/ops/resize_rules.py, the rule the
simulator uses too (onnxruntime's arithmetic), so that nearest-neighbour ties
round the same way in the generated code, the simulator and ORT.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.integer import round_half_away_int as _round_half_away
from ...ir.ops.resize_rules import source_coordinates

f32 = np.float32


def _round_nearest(x: np.float32, mode: str) -> int:
    xf = float(x)
    if mode == "round_prefer_floor":
        if xf == float(int(xf)) + 0.5:       # int() truncates toward zero, like ORT's cast
            return math.floor(xf)
        return _round_half_away(xf)
    if mode == "round_prefer_ceil":
        return _round_half_away(xf)
    if mode == "floor":
        return math.floor(xf)
    if mode == "ceil":
        return math.ceil(xf)
    raise ValueError(f"nearest mode {mode!r}")


def resize_axis_nearest(in_len: int, out_len: int, scale: float, coord_mode: str,
                        nearest_mode: str) -> np.ndarray:
    """Input index read by each output index along one axis."""
    if in_len == out_len and scale == 1.0:
        return np.arange(out_len, dtype=np.int64)
    coords = source_coordinates(coord_mode, out_len, in_len, scale)
    idx = [_round_nearest(c, nearest_mode) for c in coords]
    return np.clip(np.array(idx, dtype=np.int64), 0, in_len - 1)


def resize_axis_linear(in_len: int, out_len: int, scale: float, coord_mode: str):
    """(i0, i1, w0, w1) per output index, or None when the axis is not resized.

    The output is ``w0 * x[i0] + w1 * x[i1]`` along this axis.
    """
    if in_len == out_len and scale == 1.0:
        return None
    i0 = np.zeros(out_len, np.int64)
    i1 = np.zeros(out_len, np.int64)
    w0 = np.zeros(out_len, np.float32)
    w1 = np.zeros(out_len, np.float32)
    top = f32(in_len - 1)
    for x, c in enumerate(source_coordinates(coord_mode, out_len, in_len, scale)):
        c = max(f32(0.0), min(c, top))
        a = min(int(c), in_len - 1)
        b = min(a + 1, in_len - 1)
        d1 = f32(abs(c - f32(a)))
        d2 = f32(abs(c - f32(b)))
        if a == b:
            d1 = d2 = f32(0.5)
        i0[x], i1[x], w0[x], w1[x] = a, b, d2, d1
    return i0, i1, w0, w1
