"""Dense products: Gemm and MatMul (numpy/BLAS, float64 accumulation)."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..registry import kernel
from ._util import apply_activation


@kernel(ops.Gemm, fused_activation=True)
def gemm(op: ops.Gemm, a, b, c=None):
    a, b = op.effective_operands(np.asarray(a, np.float64), np.asarray(b, np.float64))
    y = a @ b
    if op.alpha != 1.0:
        y *= op.alpha
    if c is not None and op.beta != 0.0:
        y += op.beta * np.asarray(c, np.float64)
    return apply_activation(op, y)


@kernel(ops.MatMul)
def matmul(op: ops.MatMul, a, b):
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64))
