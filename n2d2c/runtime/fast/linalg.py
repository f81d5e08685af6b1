"""Fast Gemm / MatMul: float32 BLAS products, one leading row (sample) at a time
so that a batch gives the batch-1 results (a one-row product may run as BLAS's
matrix-vector kernel, which sums in another order than its matrix product)."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..kernels._util import apply_activation, f32
from ..registry import kernel


def rowwise_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (numpy broadcasting) formed one index of ``a``'s first axis at a
    time, each product with the shapes it has in a batch-1 run."""
    if a.ndim < 2 or b.ndim > a.ndim or a.shape[0] == 1:
        return np.matmul(a, b)
    paired = a.ndim > 2 and b.ndim == a.ndim and b.shape[0] == a.shape[0]
    return np.concatenate([np.matmul(a[i:i + 1], b[i:i + 1] if paired else b)
                           for i in range(a.shape[0])])


@kernel(ops.Gemm, fused_activation=True, precision="fast")
def gemm(op: ops.Gemm, a, b, c=None):
    a, b = op.effective_operands(f32(a), f32(b))
    y = rowwise_matmul(a, b)
    if op.alpha != 1.0:
        y *= np.float32(op.alpha)
    if c is not None and op.beta != 0.0:
        y += np.float32(op.beta) * f32(c)
    return apply_activation(op, y)


@kernel(ops.MatMul, precision="fast")
def matmul(op: ops.MatMul, a, b):
    return rowwise_matmul(f32(a), f32(b))
