"""BatchNorm and LRN against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import ops

from n2d2c.runtime import simulate

from ._harness import build_graph, check, rand


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (1, 3, 7)])
@pytest.mark.parametrize("epsilon", [1e-5, 1e-3])
def test_batch_norm(shape, epsilon):
    c = shape[1]
    arrays = {"x": rand(*shape), "scale": rand(c, seed=1), "bias": rand(c, seed=2),
              "mean": rand(c, seed=3), "var": rand(c, seed=4, low=0.1, high=2.0)}
    names = ["x", "scale", "bias", "mean", "var"]
    node = helper.make_node("BatchNormalization", names, ["y"], epsilon=epsilon)
    check(ops.BatchNorm(epsilon=epsilon), node, arrays, consts=tuple(names[1:]))


@pytest.mark.parametrize("size,alpha,beta,bias", [
    (5, 1e-4, 0.75, 1.0),
    (3, 0.5, 0.5, 2.0),
    (1, 0.1, 1.0, 1.0),
    (9, 0.3, 0.6, 0.8),   # wider than the channel count
])
@pytest.mark.parametrize("shape", [(2, 7, 4, 5), (1, 3, 1, 9)])
def test_lrn(shape, size, alpha, beta, bias):
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha, beta=beta, bias=bias)
    x = rand(*shape, low=-3.0, high=3.0)
    check(ops.LRN(size=size, alpha=alpha, beta=beta, bias=bias), node, {"x": x})


@pytest.mark.parametrize("size,shape", [(2, (2, 7, 3, 4)), (4, (1, 5, 6)), (6, (1, 7, 2, 2, 2)),
                                        (3, (1, 4, 5))])
def test_lrn_follows_onnx_formula(size, shape):
    # onnxruntime only takes 4-D inputs and odd sizes; the ONNX spec sums channels
    # [c - floor((size-1)/2), c + ceil((size-1)/2)] for any rank >= 3.
    x = rand(*shape, low=-3.0, high=3.0)
    alpha, beta, bias = 0.2, 0.9, 1.5
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    xd = x.astype(np.float64)
    square_sum = np.zeros_like(xd)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - before), min(x.shape[1], c + after + 1)
        square_sum[:, c] = (xd[:, lo:hi] ** 2).sum(axis=1)
    want = xd / (bias + alpha / size * square_sum) ** beta
    graph = build_graph(ops.LRN(size=size, alpha=alpha, beta=beta, bias=bias), ["x"], {"x": x})
    got = simulate(graph, {"x": x})["lrn"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_lrn_output_is_float32():
    # The kernel output is float32 even though it accumulates in float64.
    node = helper.make_node("LRN", ["x"], ["y"], size=3)
    got = check(ops.LRN(size=3), node, {"x": rand(1, 4, 2, 2)})
    assert next(iter(got.values())).dtype == np.float32
