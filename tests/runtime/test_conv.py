"""Conv2d and ConvTranspose2d against onnxruntime."""

import pytest
from onnx import helper

from n2d2c.ir import ops

from ._harness import check, rand

CONV_CASES = [
    # (x shape, w shape, attrs)
    ((1, 3, 8, 8), (4, 3, 3, 3), dict()),
    ((1, 3, 8, 8), (4, 3, 3, 3), dict(pads=(1, 1, 1, 1))),
    ((2, 3, 9, 7), (5, 3, 3, 2), dict(strides=(2, 3), pads=(1, 0, 2, 1))),
    ((1, 4, 10, 10), (6, 2, 3, 3), dict(group=2, pads=(0, 2, 1, 0))),
    ((1, 6, 12, 11), (6, 1, 3, 3), dict(group=6, pads=(1, 1, 1, 1))),  # depthwise
    ((1, 4, 9, 9), (8, 1, 5, 5), dict(group=4, strides=(2, 2), pads=(2, 2, 2, 2))),  # multiplier 2
    ((1, 2, 13, 13), (3, 2, 3, 3), dict(dilations=(2, 3), pads=(2, 3, 2, 3))),
    ((1, 3, 6, 6), (2, 3, 1, 1), dict()),  # pointwise
    ((1, 2, 5, 5), (2, 2, 7, 7), dict(pads=(3, 3, 3, 3), strides=(3, 3))),  # kernel > input
    ((1, 2, 7, 7), (3, 2, 3, 3), dict(pads=(4, 0, 0, 4))),  # pad larger than kernel span
    ((1, 16, 20, 20), (32, 16, 3, 3), dict(pads=(1, 1, 1, 1))),
]


def _onnx_attrs(attrs):
    out = {}
    if "pads" in attrs:
        out["pads"] = list(attrs["pads"])
    for key in ("strides", "dilations"):
        if key in attrs:
            out[key] = list(attrs[key])
    if "group" in attrs:
        out["group"] = attrs["group"]
    return out


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,attrs", CONV_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_conv2d(xs, ws, attrs, bias):
    arrays = {"x": rand(*xs), "w": rand(*ws, seed=1)}
    names = ["x", "w"]
    if bias:
        arrays["b"] = rand(ws[0], seed=2)
        names.append("b")
    node = helper.make_node("Conv", names, ["y"], kernel_shape=list(ws[2:]), **_onnx_attrs(attrs))
    check(ops.Conv2d(**attrs), node, arrays, consts=tuple(names[1:]))


def test_conv2d_weights_as_input():
    arrays = {"x": rand(1, 3, 6, 6), "w": rand(2, 3, 3, 3, seed=3)}
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    check(ops.Conv2d(), node, arrays)


CONV_T_CASES = [
    ((1, 3, 5, 5), (3, 4, 3, 3), dict()),
    ((1, 3, 5, 4), (3, 2, 3, 3), dict(strides=(2, 2))),
    ((1, 3, 5, 5), (3, 2, 4, 4), dict(strides=(2, 2), pads=(1, 1, 1, 1))),
    ((2, 2, 4, 6), (2, 3, 3, 2), dict(strides=(3, 2), pads=(0, 1, 2, 0), output_padding=(1, 1))),
    ((1, 4, 5, 5), (4, 3, 3, 3), dict(group=2, strides=(2, 1))),
    ((1, 4, 6, 6), (4, 1, 3, 3), dict(group=4, strides=(2, 2), pads=(1, 1, 1, 1))),  # depthwise
    ((1, 2, 4, 4), (2, 2, 3, 3), dict(dilations=(2, 2), pads=(1, 2, 0, 1))),
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,attrs", CONV_T_CASES, ids=lambda v: str(v).replace(" ", ""))
def test_conv_transpose2d(xs, ws, attrs, bias):
    arrays = {"x": rand(*xs), "w": rand(*ws, seed=1)}
    names = ["x", "w"]
    if bias:
        arrays["b"] = rand(ws[1] * attrs.get("group", 1), seed=2)
        names.append("b")
    onnx_attrs = _onnx_attrs(attrs)
    if "output_padding" in attrs:
        onnx_attrs["output_padding"] = list(attrs["output_padding"])
    node = helper.make_node("ConvTranspose", names, ["y"], kernel_shape=list(ws[2:]), **onnx_attrs)
    check(ops.ConvTranspose2d(**attrs), node, arrays, consts=tuple(names[1:]))
