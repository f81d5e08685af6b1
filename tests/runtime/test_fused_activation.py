"""Fused activations (set by `fuse-activation`) against the unfused ONNX pair."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import UnsupportedError
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.runtime import Simulator, kernel

from ._harness import check, rand

ACTIVATIONS = [
    (dict(activation="relu"), lambda i, o: helper.make_node("Relu", [i], [o]), {}),
    (dict(activation="clip", activation_min=0.0, activation_max=0.5),
     lambda i, o: helper.make_node("Clip", [i, "lo", "hi"], [o]),
     {"lo": np.array(0.0, np.float32), "hi": np.array(0.5, np.float32)}),
    (dict(activation="leaky_relu", activation_alpha=0.2),
     lambda i, o: helper.make_node("LeakyRelu", [i], [o], alpha=0.2), {}),
]
IDS = ["relu", "clip", "leaky_relu"]


def _has_fused_activation(cls) -> bool:
    return "activation" in {f.name for f in cls.attribute_fields()}


pytestmark = pytest.mark.skipif(not _has_fused_activation(ops.Conv2d),
                                reason="the IR has no fused activation attributes")


@pytest.mark.parametrize("attrs,make,consts", ACTIVATIONS, ids=IDS)
def test_conv2d_fused(attrs, make, consts):
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["t"], pads=[1, 1, 1, 1]), make("t", "y")]
    check(ops.Conv2d(pads=(1, 1, 1, 1), **attrs), nodes,
          {"x": rand(1, 3, 6, 6), "w": rand(4, 3, 3, 3, seed=1), "b": rand(4, seed=2)},
          consts=("w", "b"), onnx_consts=consts)


@pytest.mark.parametrize("attrs,make,consts", ACTIVATIONS, ids=IDS)
def test_conv_transpose2d_fused(attrs, make, consts):
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["t"], strides=[2, 2]), make("t", "y")]
    check(ops.ConvTranspose2d(strides=(2, 2), **attrs), nodes,
          {"x": rand(1, 3, 4, 4), "w": rand(3, 2, 3, 3, seed=1)}, consts=("w",), onnx_consts=consts)


@pytest.mark.parametrize("attrs,make,consts", ACTIVATIONS, ids=IDS)
def test_gemm_fused(attrs, make, consts):
    nodes = [helper.make_node("Gemm", ["a", "b", "c"], ["t"], transB=1), make("t", "y")]
    check(ops.Gemm(trans_b=True, **attrs), nodes,
          {"a": rand(3, 8), "b": rand(5, 8, seed=1), "c": rand(5, seed=2)}, consts=("b", "c"),
          onnx_consts=consts)


@pytest.mark.parametrize("attrs,make,consts", ACTIVATIONS, ids=IDS)
def test_add_fused(attrs, make, consts):
    nodes = [helper.make_node("Add", ["a", "b"], ["t"]), make("t", "y")]
    check(ops.Add(**attrs), nodes, {"a": rand(2, 3, 4), "b": rand(3, 1, seed=1)},
          onnx_consts=consts)


def test_fused_activation_needs_a_kernel_that_applies_it():
    # A kernel not declared with fused_activation=True must not silently drop it.
    class _Conv(ops.Conv2d):
        OP_NAME = "test_conv_no_activation"

    @kernel(_Conv)
    def plain(op, x, w):
        return np.zeros(op.outputs[0].type.shape, np.float32)

    g = Graph()
    x = g.add_input("x", TensorType((1, 1, 3, 3)))
    w = g.constant(np.ones((1, 1, 1, 1), np.float32), "w")
    g.outputs = [g.add(_Conv(activation="relu", name="c"), [x, w]).output]
    with pytest.raises(UnsupportedError, match="fused activation 'relu'"):
        Simulator(g)
