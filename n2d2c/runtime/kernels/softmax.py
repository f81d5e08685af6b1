"""Softmax / LogSoftmax (numba, max-subtracted) and the reductions (numpy).

The numba kernels of this module, LRN and Resize are serial: they are cheap next
to convolutions, and a parallel numba function costs about three times as long
to compile.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...ir import ops
from ...ir.ops.reduce import reduce_reference
from ..registry import kernel
from ._util import f32


@njit(cache=True, fastmath=False, error_model="numpy")  # a row of -inf: 0/0 is nan
def _softmax_rows(x, out, log):
    rows, length = x.shape
    for r in range(rows):
        top = -np.inf
        for i in range(length):
            if x[r, i] > top:
                top = x[r, i]
        if top == -np.inf:  # a row of -inf: avoid inf - inf (the result is nan anyway)
            top = 0.0
        total = 0.0
        for i in range(length):
            total += math.exp(np.float64(x[r, i]) - top)
        if log:
            shift = top + math.log(total)
            for i in range(length):
                out[r, i] = np.float32(np.float64(x[r, i]) - shift)
        else:
            for i in range(length):
                out[r, i] = np.float32(math.exp(np.float64(x[r, i]) - top) / total)


def _softmax(op, x, log: bool):
    axis = op.axis % x.ndim if x.ndim else 0
    if x.ndim == 0:
        x = x.reshape(1)
    moved = np.moveaxis(f32(x), axis, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1] if moved.ndim else 1)
    out = np.empty_like(rows)
    _softmax_rows(rows, out, log)
    return np.moveaxis(out.reshape(moved.shape), -1, axis).reshape(op.outputs[0].type.shape)


@kernel(ops.Softmax)
def softmax(op: ops.Softmax, x):
    return _softmax(op, x, False)


@kernel(ops.LogSoftmax)
def log_softmax(op: ops.LogSoftmax, x):
    return _softmax(op, x, True)


@kernel(*ops.REDUCTIONS)
def reduce(op: ops.Reduce, x):
    """The whole reduction family (ir/ops/reduce.py): float64, rounded by the simulator."""
    return reduce_reference(op.KIND, x, op.reduced_axes(x.ndim), op.keepdims)
