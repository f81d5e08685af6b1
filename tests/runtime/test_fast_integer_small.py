"""The fast path's integer max pooling and Rescale against the reference kernels, bit
for bit: pooling in the input's own type over the window variants, Rescale in every
mode with its per-op constants made once (and remade when the op changes)."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import Simulator, fast, find_kernel

POOLS = [
    dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)),
    dict(kernel=(2, 2), strides=(2, 2)),
    dict(kernel=(2, 3), strides=(2, 1), dilations=(2, 1), ceil_mode=True),
    dict(kernel=(3, 2), strides=(1, 2), pads=(0, 1, 2, 0)),
]


def _graph(op, shape, dtype):
    g = Graph("k")
    x = g.add_input("x", TensorType(shape, dtype))
    g.outputs = [g.add(op, [x], ["y"]).output]
    return g


def _both(g, x):
    got = Simulator(g).run({"x": x})["y"]
    want = Simulator(g, precision="reference").run({"x": x})["y"]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    return got


@pytest.mark.parametrize("attrs", POOLS, ids=lambda a: str(a).replace(" ", ""))
@pytest.mark.parametrize("dtype", [DType.I8, DType.U8, DType.I32])
def test_integer_max_pool(attrs, dtype):
    info = np.iinfo(dtype.numpy)
    x = np.random.default_rng(3).integers(info.min, info.max, (2, 5, 9, 8),
                                          endpoint=True).astype(dtype.numpy)
    x[0, 0] = info.min            # a window of the lowest value next to the padding
    g = _graph(ops.MaxPool2d(**attrs), x.shape, dtype)
    assert Simulator(g)._plan[-1][1] is fast.pool.qmax_pool2d
    got = _both(g, x)
    assert (got[0, 0] == info.min).all()


MODES = {
    "floating-point": dict(scales=(0.2, 0.1, 0.3)),
    "fixed-point16": dict(multipliers=(21000, 16000, 30000), shifts=(16, 15, 17)),
    "single-shift": dict(shifts=(2, 3, 0)),          # shift 0: no rounding term
    "double-shift": dict(shifts=(4, 3, 5), left_shifts=(1, 0, 2)),
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("axis", [1, -1])
def test_rescale_every_mode(mode, axis):
    shape = (2, 3, 4, 3)
    x = np.random.default_rng(5).integers(-400, 400, shape).astype(np.int32)
    op = ops.Rescale(mode=mode, axis=axis, input_zero_point=7, zero_point=-3,
                     out_min=(-128, -20, 0), out_max=(127, 90, 127), dtype="i8", **MODES[mode])
    g = _graph(op, shape, DType.I32)
    assert find_kernel(op, "cpu", "fast") is fast.integer.rescale_fast
    got = _both(g, x)
    assert len(np.unique(got)) > 20
    # the op's constants are cached per op: changing the op changes the result
    op.zero_point = 5
    again = _both(g, x)
    assert not np.array_equal(again, got)
