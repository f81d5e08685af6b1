"""Max/average/global pooling against onnxruntime (ceil_mode, pads, count_include_pad)."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime.kernels.integer.pool import qmax_pool2d
from n2d2c.runtime.kernels.pool import max_pool2d

from ._harness import check, rand

POOL_CASES = [
    # (x shape, attrs)
    ((1, 2, 8, 8), dict(kernel=(2, 2), strides=(2, 2))),
    ((1, 3, 7, 7), dict(kernel=(3, 3), strides=(2, 2))),
    ((1, 3, 7, 7), dict(kernel=(3, 3), strides=(2, 2), ceil_mode=True)),
    ((1, 3, 8, 8), dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))),
    ((1, 3, 8, 8), dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=True)),
    ((2, 2, 9, 10), dict(kernel=(3, 2), strides=(2, 3), pads=(1, 0, 0, 1), ceil_mode=True)),
    ((1, 2, 6, 6), dict(kernel=(2, 2), strides=(1, 1), pads=(0, 0, 1, 1))),
    ((1, 2, 11, 11), dict(kernel=(3, 3), strides=(3, 3), pads=(2, 2, 2, 2), ceil_mode=True)),
    ((1, 2, 10, 9), dict(kernel=(3, 3), strides=(1, 2), dilations=(2, 2), pads=(2, 1, 2, 1))),
    ((1, 2, 10, 9), dict(kernel=(2, 3), strides=(2, 2), dilations=(3, 1), ceil_mode=True)),
    ((1, 1, 5, 5), dict(kernel=(5, 5))),
]


def _onnx_attrs(attrs):
    out = {"kernel_shape": list(attrs["kernel"])}
    for key in ("strides", "pads", "dilations"):
        if key in attrs:
            out[key] = list(attrs[key])
    if attrs.get("ceil_mode"):
        out["ceil_mode"] = 1
    return out


@pytest.mark.parametrize("xs,attrs", POOL_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_max_pool2d(xs, attrs):
    node = helper.make_node("MaxPool", ["x"], ["y"], **_onnx_attrs(attrs))
    check(ops.MaxPool2d(**attrs), node, {"x": rand(*xs)})


@pytest.mark.parametrize("include_pad", [False, True], ids=["exclude_pad", "include_pad"])
@pytest.mark.parametrize("xs,attrs", POOL_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_avg_pool2d(xs, attrs, include_pad):
    node = helper.make_node("AveragePool", ["x"], ["y"], count_include_pad=int(include_pad),
                            **_onnx_attrs(attrs))
    check(ops.AvgPool2d(count_include_pad=include_pad, **attrs), node, {"x": rand(*xs)})


def test_max_pool_all_negative_with_padding():
    # Padding must never win a max: every input value is negative.
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    check(ops.MaxPool2d(kernel=(3, 3), pads=(1, 1, 1, 1)), node,
          {"x": rand(1, 2, 5, 5, low=-3.0, high=-1.0)})


@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 4, 1, 1), (1, 2, 6)])
def test_global_pools(shape):
    x = rand(*shape)
    check(ops.GlobalAvgPool(), helper.make_node("GlobalAveragePool", ["x"], ["y"]), {"x": x})
    check(ops.GlobalMaxPool(), helper.make_node("GlobalMaxPool", ["x"], ["y"]), {"x": x})



@pytest.mark.parametrize("xs,attrs", POOL_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_integer_max_pool_reads_the_same_windows(xs, attrs):
    # Both kernels go through one window loop: on int8 data the float result is exact.
    x = np.round(rand(*xs) * 127).astype(np.int8)
    graph = Graph()
    op = graph.add(ops.MaxPool2d(**attrs), [graph.add_input("x", TensorType(xs, DType.I8))])
    np.testing.assert_array_equal(qmax_pool2d(op, x), max_pool2d(op, x.astype(np.float32)))
