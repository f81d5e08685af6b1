"""Normalisations: inference BatchNorm (numpy) and LRN across channels (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ...ir import ops
from ..registry import kernel
from ._util import f32


@kernel(ops.BatchNorm)
def batch_norm(op: ops.BatchNorm, x, scale, bias, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = np.asarray(scale, np.float64) / np.sqrt(np.asarray(var, np.float64) + op.epsilon)
    shift = np.asarray(bias, np.float64) - np.asarray(mean, np.float64) * inv
    return x * inv.reshape(shape) + shift.reshape(shape)


@njit(cache=True, fastmath=False)
def _lrn(x, out, size, alpha, beta, bias):
    # x, out: [N, C, S] (spatial axes flattened).  ONNX: the sum of squares runs
    # over channels [c - floor((size-1)/2), c + ceil((size-1)/2)].
    n_batch, channels, spatial = x.shape
    before = (size - 1) // 2
    after = size - 1 - before
    scale = alpha / size
    for task in range(n_batch * channels):
        n = task // channels
        c = task % channels
        lo = max(0, c - before)
        hi = min(channels - 1, c + after)
        acc = np.zeros(spatial, np.float64)
        for cc in range(lo, hi + 1):
            for s in range(spatial):
                v = np.float64(x[n, cc, s])
                acc[s] += v * v
        for s in range(spatial):
            out[n, c, s] = np.float32(x[n, c, s] / (bias + scale * acc[s]) ** beta)


@kernel(ops.LRN)
def lrn(op: ops.LRN, x):
    shape = x.shape
    x3 = f32(x).reshape(shape[0], shape[1], -1)
    out = np.empty_like(x3)
    _lrn(x3, out, int(op.size), float(op.alpha), float(op.beta), float(op.bias))
    return out.reshape(shape)
