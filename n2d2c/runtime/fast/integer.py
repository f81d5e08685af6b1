"""Fast integer Conv2d / Gemm / MatMul, still bit-exact: the products run in
floating point where no partial sum can be rounded.

Integers below 2**24 (float32) or 2**53 (float64) in magnitude are exact, so are
sums of them that stay below that bound, whatever the order (BLAS blocking, FMA).
Every partial sum of a dot product is at most ``max|x| * max over outputs of
sum|w|`` in magnitude: the kernels compute that bound from the data and pick
float32, float64 or, above 2**53, the direct int64 reference kernel.  Biases are
added in int64 afterwards.
"""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..kernels.integer.common import int64
from ..kernels.integer.conv import conv2d_reference
from ..kernels.integer.linalg import qmatmul
from ..registry import INTEGER, kernel
from .conv import conv2d_in
from .linalg import rowwise_matmul

FLOAT32_EXACT = 2 ** 24
FLOAT64_EXACT = 2 ** 53


def exact_dtype(x: np.ndarray, weight_rows: np.ndarray):
    """float32 or float64 when every partial sum of ``x`` times a row of
    ``weight_rows`` (one output's weights per row) is exact in it, else None."""
    if not x.size or not weight_rows.size:
        return np.float64
    big = int(np.abs(int64(x)).max()) * int(np.abs(int64(weight_rows)).sum(axis=1).max())
    if big < FLOAT32_EXACT:
        return np.float32
    if big < FLOAT64_EXACT:
        return np.float64
    return None


def _to_int64(y: np.ndarray) -> np.ndarray:
    return y.astype(np.int64)


@kernel(ops.Conv2d, dtypes=INTEGER, precision="fast")
def qconv2d(op: ops.Conv2d, x, w, b=None):
    dtype = exact_dtype(x, np.asarray(w).reshape(w.shape[0], -1))
    if dtype is None:
        return conv2d_reference(op, x, w, b)
    y = _to_int64(conv2d_in(op, x, w, dtype))
    if b is not None:
        y += int64(b).reshape(1, -1, 1, 1)
    return y


@kernel(ops.Gemm, dtypes=INTEGER, precision="fast")
def qgemm_fast(op: ops.Gemm, a, b, c=None):
    a, b = op.effective_operands(np.asarray(a), np.asarray(b))
    dtype = exact_dtype(a, np.asarray(b).T)
    if dtype is None:
        return _qgemm_int64(a, b, c)
    y = _to_int64(rowwise_matmul(np.asarray(a, dtype), np.asarray(b, dtype)))
    if c is not None:
        y = y + int64(c)
    return y


def _qgemm_int64(a, b, c):
    """The reference product (``kernels.integer.linalg.qgemm``) of operands already
    transposed as the op reads them."""
    y = np.asarray(a, np.int64) @ np.asarray(b, np.int64)
    return y if c is None else y + int64(c)


@kernel(ops.MatMul, dtypes=INTEGER, precision="fast")
def qmatmul_fast(op: ops.MatMul, a, b):
    a, b = np.asarray(a), np.asarray(b)
    rows = np.moveaxis(b, -1, -2).reshape(-1, b.shape[-2]) if b.ndim >= 2 else b.reshape(1, -1)
    dtype = exact_dtype(a, rows)
    if dtype is None:
        return qmatmul(op, a, b)
    return _to_int64(rowwise_matmul(np.asarray(a, dtype), np.asarray(b, dtype)))
