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
from ...ir.ops.quant import integer_dtype
from ..kernels.integer.common import int64
from ..kernels.integer.conv import conv2d_reference
from ..kernels.integer.linalg import qmatmul
from ..kernels.integer.quant import rescale_arguments, rescale_loop, rescale_reference
from ..registry import INTEGER, kernel
from .conv import conv2d_in
from .depthwise import depthwise
from .linalg import rowwise_matmul

FLOAT32_EXACT = 2 ** 24
FLOAT64_EXACT = 2 ** 53


def _abs_max(x: np.ndarray) -> int:
    return max(abs(int(x.min())), abs(int(x.max()))) if x.size else 0


def exact_dtype(x: np.ndarray, weight_rows: np.ndarray, row_bound: int | None = None):
    """float32 or float64 when every partial sum of ``x`` times a row of
    ``weight_rows`` (one output's weights per row) is exact in it, else None;
    ``row_bound`` is the largest row sum of |weights| when already known."""
    if row_bound is None:
        row_bound = _row_bound(weight_rows)
    big = _abs_max(x) * row_bound
    if big < FLOAT32_EXACT:
        return np.float32
    if big < FLOAT64_EXACT:
        return np.float64
    return None


def _row_bound(weight_rows: np.ndarray) -> int:
    if not weight_rows.size:
        return 0
    return int(np.abs(weight_rows.astype(np.int64)).sum(axis=1).max())


class _WeightCache:
    """Per constant weight array: its row bound and its float copies, made once (the
    simulator passes the same constant array on every run).  Entries hold the array
    itself, so an id is never reused while its entry lives."""

    def __init__(self, size: int = 256):
        self.size = size
        self.entries: dict[int, tuple[np.ndarray, int, dict]] = {}

    def get(self, w: np.ndarray, rows: np.ndarray) -> tuple[int, dict]:
        entry = self.entries.get(id(w))
        if entry is None or entry[0] is not w:
            if len(self.entries) >= self.size:
                self.entries.clear()
            entry = self.entries[id(w)] = (w, _row_bound(rows), {})
        return entry[1], entry[2]


_CONV_WEIGHTS = _WeightCache()
_GEMM_WEIGHTS = _WeightCache()  # keyed by the B operand as given (before any transpose)


def _weights_as(w: np.ndarray, copies: dict, dtype) -> np.ndarray:
    if dtype not in copies:
        copies[dtype] = np.ascontiguousarray(w, dtype)
    return copies[dtype]


def _to_int64(y: np.ndarray) -> np.ndarray:
    return y.astype(np.int64)


def channel_chunks(w: np.ndarray, x_dtype) -> list[tuple[int, int]] | None:
    """Input-channel ranges of ``w`` [M, C, KH, KW] over which every partial sum of
    any input of ``x_dtype`` stays below 2**24 (so each range's product is exact in
    float32), or None when a single channel already reaches that bound."""
    info = np.iinfo(x_dtype)
    x_max = max(abs(int(info.min)), int(info.max))
    per_channel = np.abs(w.astype(np.int64)).sum(axis=(2, 3))  # M x C
    chunks, start = [], 0
    running = np.zeros(w.shape[0], np.int64)
    for c in range(w.shape[1]):
        if int(per_channel[:, c].max()) * x_max >= FLOAT32_EXACT:
            return None
        if int((running + per_channel[:, c]).max()) * x_max >= FLOAT32_EXACT:
            chunks.append((start, c))
            start, running = c, np.zeros_like(running)
        running += per_channel[:, c]
    chunks.append((start, w.shape[1]))
    return chunks


@kernel(ops.Conv2d, dtypes=INTEGER, precision="fast")
def qconv2d(op: ops.Conv2d, x, w, b=None):
    bound, copies = _CONV_WEIGHTS.get(w, np.asarray(w).reshape(w.shape[0], -1))
    dtype = exact_dtype(x, None, bound)
    if dtype is None:
        return conv2d_reference(op, x, w, b)
    acc = _accumulator(op) if dtype is np.float32 else np.int64
    if w.shape[1] == 1 and op.group > 1:
        # Depthwise: integer sums straight from the input's own type (a quarter of
        # float32's bytes for 8 bits), exact in int32 below 2**24 and in int64 below 2**53.
        y = depthwise(op, np.ascontiguousarray(x), _weights_as(w, copies, acc), acc)
        return _add_bias(y, b, acc)
    if dtype is np.float64 and op.group == 1:
        # Sums of a few float32 products over channel ranges, each exact, move half
        # the bytes of one float64 product (the deep layers are bandwidth-bound).
        key = ("chunks", np.dtype(x.dtype).str)
        if key not in copies:
            copies[key] = channel_chunks(np.asarray(w), x.dtype)
            if copies[key] is not None:
                f32 = _weights_as(w, copies, np.float32)
                copies[key] = [(c0, c1, np.ascontiguousarray(f32[:, c0:c1]))
                               for c0, c1 in copies[key]]
        if copies[key] is not None:
            acc = _accumulator(op)   # every chunk's sum is below 2**24
            y = None
            for c0, c1, part in copies[key]:
                partial = conv2d_in(op, x[:, c0:c1], part, np.float32).astype(acc)
                y = partial if y is None else y + partial
            return _add_bias(y, b, acc)
    return _add_bias(conv2d_in(op, x, _weights_as(w, copies, dtype), dtype).astype(acc), b, acc)


def _accumulator(op) -> type:
    """int32 when the op's result is int32 (values below 2**24 convert exactly, and
    wrapping sums modulo 2**32 give what the int64 result cast to int32 gives), else
    int64."""
    return np.int32 if op.outputs[0].type.dtype.numpy == np.int32 else np.int64


def _add_bias(y: np.ndarray, b, acc) -> np.ndarray:
    if b is not None:
        y += int64(b).astype(acc).reshape(1, -1, 1, 1)
    return y


@kernel(ops.Gemm, dtypes=INTEGER, precision="fast")
def qgemm_fast(op: ops.Gemm, a, b, c=None):
    original = b
    a, b = op.effective_operands(np.asarray(a), np.asarray(b))
    bound, copies = _GEMM_WEIGHTS.get(original, np.asarray(b).T)
    dtype = exact_dtype(a, None, bound)
    if dtype is None:
        return _qgemm_int64(a, b, c)
    if dtype not in copies:
        copies[dtype] = np.ascontiguousarray(b, dtype)
    y = _to_int64(rowwise_matmul(np.asarray(a, dtype), copies[dtype]))
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


@kernel(ops.Rescale, dtypes=INTEGER, precision="fast")
def rescale_fast(op: ops.Rescale, x):
    """The reference loop on ``x`` as it comes, writing ``op.dtype`` directly (its
    clamp bounds lie inside that type, so no value changes), with the op's per-channel
    constants made once rather than on every run."""
    target = integer_dtype(op, op.dtype).numpy
    x = np.asarray(x)
    channels = 1 if x.ndim == 0 else x.shape[op.axis % x.ndim]
    constants = _RESCALE_CONSTANTS.get(op, channels)
    lo, hi = constants[-2:]
    info = np.iinfo(target)
    if x.dtype.kind not in "iu" or x.dtype.itemsize > 8 or (x.dtype.kind == "u" and
                                                            x.dtype.itemsize == 8) \
            or int(np.min(lo)) < info.min or int(np.max(hi)) > info.max:
        return rescale_reference(op, x).astype(target)
    if x.ndim == 0:
        x3 = np.ascontiguousarray(x).reshape(1, 1, 1)
    else:
        axis = op.axis % x.ndim
        x3 = np.ascontiguousarray(x).reshape(int(np.prod(x.shape[:axis], dtype=np.int64)),
                                             channels, -1)
    out = np.empty(x3.shape, target)
    rescale_loop(x3, out, *constants)
    return out.reshape(x.shape)


class _RescaleConstants:
    """Per Rescale op and channel count: the loop's arguments (mode code, per-channel
    scales, multipliers, shifts, left shifts, zero points, bounds).  An entry is kept
    only while the op's attributes are those it was made from."""

    def __init__(self, size: int = 1024):
        self.size = size
        self.entries: dict[tuple[int, int], tuple] = {}

    @staticmethod
    def _fingerprint(op: ops.Rescale) -> tuple:
        return (op.mode, op.scales, op.multipliers, op.shifts, op.left_shifts, op.out_min,
                op.out_max, op.input_zero_point, op.zero_point, op.dtype)

    def get(self, op: ops.Rescale, channels: int) -> tuple:
        key = (id(op), channels)
        entry = self.entries.get(key)
        fingerprint = self._fingerprint(op)
        if entry is None or entry[0] is not op or entry[1] != fingerprint:
            if len(self.entries) >= self.size:
                self.entries.clear()
            entry = self.entries[key] = (op, fingerprint, rescale_arguments(op, channels))
        return entry[2]


_RESCALE_CONSTANTS = _RescaleConstants()
