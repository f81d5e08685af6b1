"""Resize: nearest and (multi)linear, with ONNX's coordinate transformations.

Each axis is described by a table: for output index ``o`` the two source indices
``lo[o]``, ``hi[o]`` and the weight ``frac[o]`` of ``hi`` (nearest: ``lo == hi``,
``frac == 0``).  Linear resize is separable, so an N-linear resize is a chain of
1-D ones.  Coordinates come from n2d2c/ir/ops/resize_rules.py, the rule the C
backends use too, in onnxruntime's arithmetic, so that ties in nearest rounding
(``x.5``) are broken identically.

The common case -- a 4-D NCHW tensor resized over H and W only -- runs in one
numba pass; anything else goes through the axis-by-axis numpy path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...ir import ops
from ...ir.integer import round_half_away as _round_half_away
from ...ir.ops.resize_rules import source_coordinates
from ..registry import kernel
from ._util import f32

_F = np.float32


def nearest_indices(coords: np.ndarray, nearest_mode: str, in_len: int) -> np.ndarray:
    if nearest_mode == "round_prefer_floor":
        tie = coords == np.trunc(coords) + _F(0.5)
        idx = np.where(tie, np.floor(coords), _round_half_away(coords))
    elif nearest_mode == "round_prefer_ceil":
        idx = _round_half_away(coords)
    elif nearest_mode == "floor":
        idx = np.floor(coords)
    elif nearest_mode == "ceil":
        idx = np.ceil(coords)
    else:
        raise ValueError(f"unknown nearest_mode {nearest_mode!r}")
    return np.clip(idx, 0, in_len - 1).astype(np.int64)


def axis_table(op: ops.Resize, axis: int, in_len: int):
    """(lo, hi, frac) for one axis; None when the axis is copied unchanged."""
    out_len = op.sizes[axis]
    coords = source_coordinates(op.coordinate_transformation_mode, out_len, in_len,
                                op.scales[axis])
    if op.mode == "nearest":
        lo = nearest_indices(coords, op.nearest_mode, in_len)
        hi = lo
        frac = np.zeros(out_len, np.float64)
    else:
        c = np.clip(coords, _F(0), _F(in_len - 1))
        lo = np.minimum(c.astype(np.int64), in_len - 1)
        hi = np.minimum(lo + 1, in_len - 1)
        frac = (c - lo.astype(_F)).astype(np.float64)
    if out_len == in_len and np.array_equal(lo, np.arange(in_len)) and not frac.any():
        return None
    return lo, hi, frac


@njit(cache=True, fastmath=False)
def _resize_hw(x, out, h_lo, h_hi, h_frac, w_lo, w_hi, w_frac):
    n_batch, channels = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for task in range(n_batch * channels):
        n = task // channels
        c = task % channels
        for oh in range(out_h):
            fy = h_frac[oh]
            r0 = h_lo[oh]
            r1 = h_hi[oh]
            for ow in range(out_w):
                fx = w_frac[ow]
                c0 = w_lo[ow]
                c1 = w_hi[ow]
                top = (1.0 - fx) * x[n, c, r0, c0] + fx * x[n, c, r0, c1]
                bottom = (1.0 - fx) * x[n, c, r1, c0] + fx * x[n, c, r1, c1]
                out[n, c, oh, ow] = np.float32((1.0 - fy) * top + fy * bottom)


@kernel(ops.Resize)
def resize(op: ops.Resize, x):
    tables = [axis_table(op, axis, n) for axis, n in enumerate(x.shape)]
    if x.ndim == 4 and tables[0] is None and tables[1] is None:
        h = tables[2] or (np.arange(x.shape[2]),) * 2 + (np.zeros(x.shape[2]),)
        w = tables[3] or (np.arange(x.shape[3]),) * 2 + (np.zeros(x.shape[3]),)
        out = np.empty(op.outputs[0].type.shape, np.float32)
        _resize_hw(f32(x), out, h[0].astype(np.int64), h[1].astype(np.int64),
                   h[2].astype(np.float64), w[0].astype(np.int64), w[1].astype(np.int64),
                   w[2].astype(np.float64))
        return out
    y = np.asarray(x, np.float64)
    for axis, table in enumerate(tables):
        if table is None:
            continue
        lo, hi, frac = table
        if op.mode == "nearest":
            y = np.take(y, lo, axis=axis)
        else:
            shape = [1] * y.ndim
            shape[axis] = -1
            f = frac.reshape(shape)
            y = np.take(y, lo, axis=axis) * (1.0 - f) + np.take(y, hi, axis=axis) * f
    return y
