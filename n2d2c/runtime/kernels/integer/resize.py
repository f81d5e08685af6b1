"""Integer resize (quant.py): nearest copies the source elements the float kernel reads
(its own coordinate tables), keeping the input's dtype and scale; linear weighs them
with ``integer.resize_weights``, one axis after the other (exact in int64, so the
order does not matter)."""

from __future__ import annotations

import numpy as np

from ....ir import ops
from ....ir.integer import resize_weights
from ...registry import INTEGER, kernel
from ..resize import axis_table


@kernel(ops.Resize, dtypes=INTEGER)
def qresize(op: ops.Resize, x):
    y = np.asarray(x) if op.mode == "nearest" else np.asarray(x, np.int64)
    for axis, n in enumerate(x.shape):
        table = axis_table(op, axis, n)
        if op.mode == "nearest":
            if table is not None:
                y = np.take(y, table[0], axis=axis)
            continue
        if n == op.sizes[axis] and op.scales[axis] == 1.0:
            continue  # not a resized axis (Resize.resized_axes): no weights
        lo, hi, frac = table or (np.arange(n), np.arange(n), np.zeros(n))
        shape = [1] * y.ndim
        shape[axis] = -1
        w_lo, w_hi = (w.reshape(shape) for w in resize_weights(frac))
        y = np.take(y, lo, axis=axis) * w_lo + np.take(y, hi, axis=axis) * w_hi
    return y
