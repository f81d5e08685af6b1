"""Integer gemm and matmul: exact int64 products, bias of the accumulator type."""

from __future__ import annotations

import numpy as np

from ....ir import ops
from ...registry import INTEGER, kernel


@kernel(ops.Gemm, dtypes=INTEGER)
def qgemm(op: ops.Gemm, a, b, c=None):
    a, b = op.effective_operands(np.asarray(a, np.int64), np.asarray(b, np.int64))
    y = a @ b
    if c is not None:
        y = y + np.asarray(c, np.int64)
    return y


@kernel(ops.MatMul, dtypes=INTEGER)
def qmatmul(op: ops.MatMul, a, b):
    return np.matmul(np.asarray(a, np.int64), np.asarray(b, np.int64))
