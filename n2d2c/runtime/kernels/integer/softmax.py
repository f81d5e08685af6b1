"""``int_softmax`` (semantics and formula: n2d2c/ir/ops/int_softmax.py).

One numba loop per row, step for step the C kernel (templates/generic/int_softmax.j2):
the max, the table reads, the int32 sum in row order, then either the int64 rounded
division or one float32 division per element.  The operand is moved so that the row
is its last axis (a copy: numba reads contiguous rows).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ....ir import ops
from ...registry import kernel


@njit(cache=True)
def _row_max_and_sum(x, r, table):
    """Row ``r``'s max and the sum of its table entries table[max - q]."""
    m = x[r, 0]
    for j in range(1, x.shape[1]):
        m = max(m, x[r, j])
    total = 0  # < 2**31 by MAX_ROW: the C kernel's int32 holds it
    for j in range(x.shape[1]):
        total += table[m - x[r, j]]
    return m, total


@njit(cache=True)
def _rows_int(x, table, levels, out):
    for r in range(x.shape[0]):
        m, total = _row_max_and_sum(x, r, table)
        den = np.int64(max(total, 1)) * 2
        for j in range(x.shape[1]):
            out[r, j] = (np.int64(2 * levels) * table[m - x[r, j]] + den // 2) // den


@njit(cache=True)
def _rows_float(x, table, out):
    for r in range(x.shape[0]):
        m, total = _row_max_and_sum(x, r, table)
        den = np.float32(max(total, 1))
        for j in range(x.shape[1]):
            out[r, j] = np.float32(table[m - x[r, j]]) / den


@kernel(ops.IntSoftmax, dtypes=ops.LOOKUP_INPUTS)
def int_softmax(op: ops.IntSoftmax, x, table):
    x = np.asarray(x)
    axis = op.row_axis()
    rows = np.ascontiguousarray(np.moveaxis(x, axis, -1), dtype=np.int64)
    shape = rows.shape
    rows = rows.reshape(-1, shape[-1])
    table = np.ascontiguousarray(table, dtype=np.int32)
    if op.dtype == "f32":
        out = np.empty(rows.shape, np.float32)
        _rows_float(rows, table, out)
    else:
        out = np.empty(rows.shape, np.int64)
        _rows_int(rows, table, np.int64(op.levels), out)
    return np.moveaxis(out.reshape(shape), -1, axis)
