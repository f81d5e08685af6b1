"""Each converter at the opsets where its ONNX op changed, against onnxruntime.

The attribute -> input migrations (Slice 10, Pad 11, Clip 11, Split/Squeeze/
Unsqueeze 13, ReduceMean 18, Resize 10/11/13/18/19, Upsample 7/9) and the
pre-13 Softmax coercion are covered here; ONNX's node tests mostly use the
newest opsets.
"""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir.ops import Conv2d

from .harness import check_outputs, roundtrip_text, run_ort
from .single_node import C, X, rand, single_node_model

I64 = np.int64
F32 = np.float32


def i64(*v):
    return np.array(v, I64)


def f32(*v):
    return np.array(v, F32)


x4 = rand(2, 3, 6, 7)
x3 = rand(2, 4, 9)

# id -> (op, opset, inputs, attrs[, n_out])
CASES = {
    # Slice: attributes before 10, inputs after; clamping and negative steps.
    "slice-1": ("Slice", 9, [X(x4)], dict(starts=[1, 2], ends=[3, 100], axes=[1, 3])),
    "slice-10": ("Slice", 10, [X(x4), C(i64(0, -3)), C(i64(1, -1))], {}),
    "slice-13-steps": ("Slice", 13, [X(x4), C(i64(-1, 5)), C(i64(-100, 0)), C(i64(-1, 2)),
                                     C(i64(-2, -2))], {}),
    "slice-13-clamp": ("Slice", 13, [X(x4), C(i64(-50, 4)), C(i64(2**62, 2)), C(i64(2, 1))], {}),
    # Pad: attributes before 11, inputs after, axes at 18; the three modes.
    "pad-2": ("Pad", 7, [X(x4)], dict(pads=[0, 0, 1, 2, 0, 0, 2, 1], value=1.5)),
    "pad-11-reflect": ("Pad", 11, [X(x4), C(i64(0, 0, 2, 1, 0, 0, 1, 2))], dict(mode="reflect")),
    "pad-13-edge": ("Pad", 13, [X(x4), C(i64(0, 1, 1, 0, 0, 0, 2, 3))], dict(mode="edge")),
    "pad-13-value": ("Pad", 13, [X(x4), C(i64(0, 0, -1, 1, 0, 0, 1, -2)), C(f32(-3))], {}),
    "pad-18-axes": ("Pad", 18, [X(x4), C(i64(1, 2, 3, 0)), C(f32(0.5)), C(i64(-1, 2))], {}),
    # Clip: attributes before 11; constant bounds -> attrs; run-time bounds -> max/min.
    "clip-6": ("Clip", 6, [X(x4)], dict(min=-0.5, max=0.75)),
    "clip-11-const": ("Clip", 11, [X(x4), C(f32(0)), C(f32(6))], {}),
    "clip-12-max-only": ("Clip", 12, [X(x4), "", C(f32(0.3))], {}),
    "clip-13-runtime": ("Clip", 13, [X(x4), X(np.array(-0.25, F32)), X(np.array(0.5, F32))], {}),
    "clip-13-runtime-min": ("Clip", 13, [X(x4), X(np.array(-0.25, F32))], {}),
    # Split: attribute, equal parts, input, num_outputs with an uneven last part.
    "split-2": ("Split", 7, [X(x4)], dict(axis=3, split=[2, 5]), 2),
    "split-11-equal": ("Split", 11, [X(x4)], dict(axis=2), 3),
    "split-13-input": ("Split", 13, [X(x4), C(i64(1, 2))], dict(axis=1), 2),
    "split-18-uneven": ("Split", 18, [X(x4)], dict(axis=-1, num_outputs=3), 3),
    # Squeeze / Unsqueeze: axes attribute before 13, input after.
    "squeeze-11": ("Squeeze", 11, [X(rand(1, 3, 1, 4))], dict(axes=[0, -2])),
    "squeeze-13": ("Squeeze", 13, [X(rand(1, 3, 1, 4)), C(i64(2))], {}),
    "squeeze-13-all": ("Squeeze", 13, [X(rand(1, 3, 1, 4))], {}),
    "unsqueeze-11": ("Unsqueeze", 11, [X(x3)], dict(axes=[0, 4])),
    "unsqueeze-13": ("Unsqueeze", 13, [X(x3), C(i64(-1, 1))], {}),
    # ReduceMean: axes attribute before 18, input after.
    "reducemean-13": ("ReduceMean", 13, [X(x4)], dict(axes=[2, 3])),
    "reducemean-13-flat": ("ReduceMean", 13, [X(x4)], dict(axes=[1], keepdims=0)),
    "reducemean-13-all": ("ReduceMean", 13, [X(x4)], {}),
    "reducemean-18": ("ReduceMean", 18, [X(x4), C(i64(-1))], dict(keepdims=0)),
    "reducemean-18-noop": ("ReduceMean", 18, [X(x4)], dict(noop_with_empty_axes=1)),
    # Softmax / LogSoftmax: 2-D coercion before 13.
    "softmax-11-axis1": ("Softmax", 11, [X(x4)], dict(axis=1)),
    "softmax-11-default": ("Softmax", 11, [X(x3)], {}),
    "softmax-11-last": ("Softmax", 11, [X(x3)], dict(axis=2)),
    "logsoftmax-9-axis2": ("LogSoftmax", 9, [X(x4)], dict(axis=2)),
    "softmax-13-axis1": ("Softmax", 13, [X(x4)], dict(axis=1)),
    "logsoftmax-13": ("LogSoftmax", 13, [X(x4)], dict(axis=-2)),
    # Resize / Upsample.
    "upsample-7": ("Upsample", 7, [X(x4)], dict(scales=[1.0, 1.0, 2.0, 3.0], mode="nearest")),
    "upsample-9-linear": ("Upsample", 9, [X(x4), C(f32(1, 1, 2, 1.5))], dict(mode="linear")),
    "resize-10-up": ("Resize", 10, [X(x4), C(f32(1, 1, 2, 2.5))], dict(mode="nearest")),
    "resize-10-down": ("Resize", 10, [X(x4), C(f32(1, 1, 0.5, 0.6))], dict(mode="nearest")),
    "resize-10-linear": ("Resize", 10, [X(x4), C(f32(1, 1, 1.5, 0.5))], dict(mode="linear")),
    "resize-11-scales": ("Resize", 11, [X(x4), C(np.zeros(0, F32)), C(f32(1, 1, 1.5, 2))],
                         dict(mode="nearest")),
    "resize-11-sizes": ("Resize", 11, [X(x4), C(np.zeros(0, F32)), C(np.zeros(0, F32)),
                                       C(i64(2, 3, 4, 12))],
                        dict(mode="linear", coordinate_transformation_mode="align_corners")),
    "resize-13-pytorch": ("Resize", 13, [X(x4), "", C(f32(1, 1, 0.5, 0.75))],
                          dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")),
    "resize-13-ceil": ("Resize", 13, [X(x4), "", "", C(i64(2, 3, 13, 5))],
                       dict(mode="nearest", nearest_mode="ceil",
                            coordinate_transformation_mode="asymmetric")),
    "resize-13-floor": ("Resize", 13, [X(x4), "", C(f32(1, 1, 2, 2))],
                        dict(mode="nearest", nearest_mode="floor")),
    "resize-13-prefer-ceil": ("Resize", 13, [X(x4), "", C(f32(1, 1, 1.7, 0.8))],
                              dict(mode="nearest", nearest_mode="round_prefer_ceil")),
    "resize-18-axes": ("Resize", 18, [X(x4), "", C(f32(2, 0.5))], dict(axes=[3, 2])),
    "resize-18-not-larger": ("Resize", 18, [X(x4), "", "", C(i64(12, 20))],
                             dict(axes=[2, 3], keep_aspect_ratio_policy="not_larger")),
    "resize-19-symmetric": ("Resize", 19, [X(x4), "", C(f32(1, 1, 1.5, 0.7))],
                            dict(mode="linear",
                                 coordinate_transformation_mode="half_pixel_symmetric")),
    # Dropout: ratio attribute before 12, input after (inference: identity).
    "dropout-7": ("Dropout", 7, [X(x4)], dict(ratio=0.3)),
    "dropout-12": ("Dropout", 12, [X(x4), C(np.array(0.3, F32))], {}),
    # BatchNormalization across its versions.
    "batchnorm-7": ("BatchNormalization", 7, [X(x4), C(f32(1, 2, 3)), C(f32(0, 1, -1)),
                                              C(f32(0.1, 0.2, 0.3)), C(f32(1, 0.5, 2))],
                    dict(epsilon=1e-3)),
    "batchnorm-9-3d": ("BatchNormalization", 9, [X(x3), C(f32(1, 2, 3, 4)), C(f32(0, 1, -1, 2)),
                                                 C(f32(0.1, 0.2, 0.3, 0)), C(f32(1, 0.5, 2, 1))],
                       {}),
    "batchnorm-15": ("BatchNormalization", 15, [X(x4), C(f32(1, 2, 3)), C(f32(0, 1, -1)),
                                                C(f32(0.1, 0.2, 0.3)), C(f32(1, 0.5, 2))], {}),
    # Convolutions: 1-D lowering, auto_pad, groups, dilations, no bias.
    "conv-1d": ("Conv", 11, [X(x3), C(rand(6, 2, 3)), C(rand(6))],
                dict(group=2, strides=[2], pads=[1, 2], dilations=[2])),
    "conv-same-upper": ("Conv", 11, [X(x4), C(rand(4, 3, 3, 2))],
                        dict(auto_pad="SAME_UPPER", strides=[2, 3])),
    "conv-same-lower": ("Conv", 11, [X(x4), C(rand(4, 3, 2, 4))],
                        dict(auto_pad="SAME_LOWER", strides=[2, 2])),
    "conv-valid": ("Conv", 11, [X(x4), C(rand(3, 1, 3, 3)), C(rand(3))],
                   dict(auto_pad="VALID", group=3, dilations=[2, 1])),
    "conv-runtime-weights": ("Conv", 11, [X(x4), X(rand(2, 3, 1, 1))], {}),
    "convtranspose-2d": ("ConvTranspose", 11, [X(x4), C(rand(3, 2, 3, 3)), C(rand(2))],
                         dict(strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 1])),
    "convtranspose-shape": ("ConvTranspose", 11, [X(x4), C(rand(3, 4, 3, 3))],
                            dict(strides=[2, 2], output_shape=[14, 16])),
    "convtranspose-same": ("ConvTranspose", 11, [X(x4), C(rand(3, 2, 3, 3))],
                           dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    "convtranspose-group": ("ConvTranspose", 11, [X(x4), C(rand(3, 2, 2, 3))],
                            dict(group=3, dilations=[2, 1])),
    "convtranspose-1d": ("ConvTranspose", 11, [X(x3), C(rand(4, 3, 4))], dict(strides=[3])),
    # Pooling: 1-D lowering, padding modes, ceil_mode, dilations.
    "maxpool-1d": ("MaxPool", 11, [X(x3)], dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
    "avgpool-1d": ("AveragePool", 11, [X(x3)], dict(kernel_shape=[4], pads=[2, 1],
                                                     count_include_pad=1)),
    "maxpool-ceil": ("MaxPool", 12, [X(x4)], dict(kernel_shape=[3, 2], strides=[2, 2],
                                                   ceil_mode=1, dilations=[1, 2])),
    "avgpool-same-lower": ("AveragePool", 11, [X(x4)], dict(kernel_shape=[2, 3], strides=[2, 2],
                                                             auto_pad="SAME_LOWER")),
    "avgpool-7": ("AveragePool", 7, [X(x4)], dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "globalmax-3d": ("GlobalMaxPool", 11, [X(x3)], {}),
    "globalavg": ("GlobalAveragePool", 11, [X(x4)], {}),
    # Dense products.
    "gemm-trans": ("Gemm", 13, [X(rand(5, 4)), C(rand(3, 5)), C(rand(3))],
                   dict(transA=1, transB=1, alpha=0.5, beta=2.0)),
    "gemm-scalar-c": ("Gemm", 13, [X(rand(4, 5)), C(rand(5, 3)), C(f32(0.5))], {}),
    "gemm-no-c": ("Gemm", 13, [X(rand(4, 5)), X(rand(5, 3))], {}),
    "gemm-7-matrix-c": ("Gemm", 7, [X(rand(4, 5)), C(rand(5, 3)), C(rand(4, 3))], {}),
    "matmul-batched": ("MatMul", 13, [X(rand(2, 3, 4, 5)), C(rand(5, 2))], {}),
    "matmul-1d": ("MatMul", 13, [X(rand(5)), X(rand(2, 5, 3))], {}),
    # Element-wise and variadic.
    "add-bcast": ("Add", 13, [X(x4), C(rand(7))], {}),
    "sub-bcast": ("Sub", 7, [C(rand(3, 1, 1)), X(x4)], {}),
    "mul-scalar": ("Mul", 13, [X(x4), C(np.array(3.0, F32))], {}),
    "div": ("Div", 13, [X(x4), X(rand(1, 3, 6, 1) + 3)], {}),
    "sum-3": ("Sum", 13, [X(x4), X(rand(7)), C(rand(6, 1))], {}),
    "max-3": ("Max", 13, [X(x4), X(rand(3, 1, 1)), X(rand(7))], {}),
    "min-1": ("Min", 8, [X(x4)], {}),
    "mean-2": ("Mean", 13, [X(x4), X(rand(6, 7))], {}),
    "neg": ("Neg", 13, [X(x4)], {}),
    "relu": ("Relu", 14, [X(x4)], {}),
    "leakyrelu": ("LeakyRelu", 16, [X(x4)], dict(alpha=0.2)),
    "prelu-channel": ("PRelu", 16, [X(x4), C(rand(3, 1, 1))], {}),
    "prelu-9": ("PRelu", 9, [X(x4), C(rand(7))], {}),
    "hardsigmoid": ("HardSigmoid", 6, [X(x4)], dict(alpha=0.3, beta=0.4)),
    "hardswish": ("HardSwish", 14, [X(x4)], {}),
    "sigmoid": ("Sigmoid", 13, [X(x4)], {}),
    "tanh": ("Tanh", 13, [X(x4)], {}),
    "identity": ("Identity", 13, [X(x4)], {}),
    "cast-float": ("Cast", 13, [X(x4)], dict(to=1)),
    "lrn": ("LRN", 13, [X(rand(1, 7, 3, 3))], dict(size=3, alpha=0.01, beta=0.6, bias=2.0)),
    # Data movement.
    "concat-neg": ("Concat", 13, [X(x4), C(rand(2, 3, 6, 2))], dict(axis=-1)),
    "flatten-0": ("Flatten", 13, [X(x4)], dict(axis=0)),
    "flatten-neg": ("Flatten", 13, [X(x4)], dict(axis=-1)),
    "reshape-5": ("Reshape", 7, [X(x4), C(i64(0, -1, 7))], {}),
    "reshape-14-allowzero": ("Reshape", 14, [X(x4), C(i64(6, 7, 6))], dict(allowzero=1)),
    "transpose-default": ("Transpose", 13, [X(x4)], {}),
    "transpose-perm": ("Transpose", 13, [X(x4)], dict(perm=[0, 2, 3, 1])),
}


def _case(case_id):
    op, opset, inputs, attrs, *n_out = CASES[case_id]
    return single_node_model(op, opset, inputs, n_out[0] if n_out else 1, **attrs)


@pytest.mark.parametrize("case_id", list(CASES))
def test_op_matches_onnxruntime(case_id):
    model, feeds = _case(case_id)
    graph = load_onnx(model)
    roundtrip_text(graph)
    expected = run_ort(model, feeds)
    # Dropout's unused mask is not a graph result n2d2c computes.
    expected = expected[:len(graph.outputs)]
    problem = check_outputs(graph, feeds, expected)
    assert problem is None, problem


def test_clip_runtime_bounds_become_max_min():
    graph = load_onnx(_case("clip-13-runtime")[0])
    assert [op.OP_NAME for op in graph.ops] == ["max", "min"]
    assert graph.ops[-1].name == "clip_node" and graph.ops[0].name == "clip_node.min"


def test_softmax_before_13_is_coerced_to_2d():
    graph = load_onnx(_case("softmax-11-axis1")[0])
    assert [op.OP_NAME for op in graph.ops] == ["reshape", "softmax", "reshape"]
    assert graph.ops[0].output.shape == (2, 3 * 6 * 7)
    # Normalising over the last axis needs no coercion.
    graph = load_onnx(_case("softmax-11-last")[0])
    assert [op.OP_NAME for op in graph.ops] == ["softmax"]


def test_1d_conv_is_lowered_to_2d():
    graph = load_onnx(_case("conv-1d")[0])
    names = [op.OP_NAME for op in graph.ops if op.OP_NAME != "constant"]
    assert names == ["reshape", "conv2d", "reshape"]
    conv = graph.ops_of(Conv2d)[0]
    assert conv.strides == (1, 2) and conv.pads == (0, 1, 0, 2) and conv.dilations == (1, 2)
    assert conv.inputs[1].shape == (6, 2, 1, 3)  # weights reshaped at compile time


def test_legacy_broadcast_opset6():
    """Opset 6 Add with broadcast=1, axis=1 aligns B with A's axis 1 (no ORT for opset 6)."""
    a, b = rand(2, 3, 4, 5), rand(3, 4)
    model, feeds = single_node_model("Add", 6, [X(a), C(b)], broadcast=1, axis=1)
    graph = load_onnx(model)
    assert check_outputs(graph, feeds, [a + b[None, :, :, None]]) is None
