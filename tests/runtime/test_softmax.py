"""Softmax, LogSoftmax and ReduceMean against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import ops

from ._harness import check, rand


@pytest.mark.parametrize("shape,axis", [
    ((2, 10), -1), ((2, 10), 0), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -1), ((2, 3, 4, 5), 2),
    ((2, 3, 4, 5), 0), ((7,), 0), ((3, 1), 1),
], ids=str)
@pytest.mark.parametrize("cls,onnx_type", [(ops.Softmax, "Softmax"), (ops.LogSoftmax, "LogSoftmax")],
                         ids=["softmax", "log_softmax"])
def test_softmax(cls, onnx_type, shape, axis):
    node = helper.make_node(onnx_type, ["x"], ["y"], axis=axis)
    check(cls(axis=axis), node, {"x": rand(*shape, low=-5.0, high=5.0)})


@pytest.mark.parametrize("cls,onnx_type", [(ops.Softmax, "Softmax"), (ops.LogSoftmax, "LogSoftmax")])
def test_softmax_large_logits_are_stable(cls, onnx_type):
    x = np.array([[1000.0, 999.0, -1000.0, 0.0], [-50.0, -51.0, -52.0, -1e4]], np.float32)
    node = helper.make_node(onnx_type, ["x"], ["y"], axis=-1)
    got = check(cls(axis=-1), node, {"x": x})
    assert np.isfinite(next(iter(got.values()))).all()


@pytest.mark.parametrize("axes,keepdims", [
    ((2, 3), True), ((1,), False), ((-1,), True), ((0, 2), False), ((), True), ((), False),
], ids=str)
def test_reduce_mean(axes, keepdims):
    inputs = ["x", "axes"] if axes else ["x"]
    onnx_consts = {"axes": np.array(axes, np.int64)} if axes else {}
    node = helper.make_node("ReduceMean", inputs, ["y"], keepdims=int(keepdims))
    check(ops.ReduceMean(axes=axes, keepdims=keepdims), node, {"x": rand(2, 3, 4, 5)},
          onnx_consts=onnx_consts)
