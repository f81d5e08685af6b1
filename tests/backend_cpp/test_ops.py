"""Every IR op (and its attribute variants) compiled to C++, run, and compared with onnxruntime.

Each case is a small ONNX model imported with the ONNX frontend.  The cases of a
family are merged into one network and built once (see harness.py), so the
whole file costs four C++ builds.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.backends.c import LOWERINGS
from n2d2c.ir import ops
from n2d2c.ir.ops import OPS

from .harness import (C, X, assert_close, build_batches, finish_model, node_case, rand,
                      require_compiler, run_ort, shared)
from .harness import Case

I64 = np.int64


def i64(*v):
    return np.array(v, I64)


def f32(*v):
    return np.array(v, np.float32)


def _elementwise() -> list[Case]:
    x = rand(2, 3, 4, 5, name="x")
    cases = [
        node_case("add", "Add", [X(x), X(rand(2, 3, 4, 5, name="y"))]),
        node_case("add_bcast_channel", "Add", [X(x), C(rand(3, 1, 1, name="b"))]),
        node_case("add_bcast_scalar", "Add", [X(x), C(f32(0.5))]),
        node_case("add_bcast_both", "Add", [X(rand(3, 1, 5, name="p")), X(rand(4, 1, name="q"))]),
        node_case("sub", "Sub", [X(x), X(rand(1, 3, 1, 5, name="s"))]),
        node_case("mul", "Mul", [X(x), C(rand(5, name="m"))]),
        node_case("div", "Div", [X(x), C(rand(3, 1, 1, name="d", low=0.5, high=2.0))]),
        node_case("max", "Max", [X(x), X(rand(2, 3, 4, 5, name="mx"))]),
        node_case("min", "Min", [X(x), C(f32(0.25))]),
        node_case("prelu", "PRelu", [X(x), C(rand(3, 1, 1, name="slope"))]),
        node_case("relu", "Relu", [X(x)]),
        node_case("leaky_relu", "LeakyRelu", [X(x)], alpha=0.2),
        node_case("clip_relu6", "Clip", [X(x * 4), C(f32(0.0)), C(f32(6.0))]),
        node_case("clip_min_only", "Clip", [X(x), C(f32(-0.5))]),
        node_case("clip_max_only", "Clip", [X(x), "", C(f32(0.5))]),
        node_case("sigmoid", "Sigmoid", [X(x * 4)]),
        node_case("softplus", "Softplus", [X(x * 30)]),
        node_case("tanh", "Tanh", [X(x)]),
        node_case("hard_sigmoid", "HardSigmoid", [X(x * 3)], alpha=0.3, beta=0.4),
        node_case("hard_swish", "HardSwish", [X(x * 3)]),
        node_case("swish", "Swish", [X(x * 6)], opset=24, alpha=0.7),
        node_case("mish", "Mish", [X(x * 6)], opset=18),
        *[node_case(op.lower(), op, [X(x * 4)]) for op in ("Exp", "Erf", "Abs", "Neg", "Floor",
                                                            "Ceil")],
        *[node_case(op.lower(), op, [X(np.abs(x) * 4 + 0.05)]) for op in ("Sqrt", "Log",
                                                                          "Reciprocal")],
        node_case("pow_const_int_exponent", "Pow", [X(x * 3), C(i64(2))]),
        node_case("pow_runtime", "Pow", [X(np.abs(x) + 0.1), X(rand(3, 1, 1, name="e"))]),
        node_case("gelu", "Gelu", [X(x * 3)], opset=20),
        node_case("gelu_tanh", "Gelu", [X(x * 3)], opset=20, approximate="tanh"),
        node_case("layer_norm", "LayerNormalization",
                  [X(x), C(rand(4, 5, name="ln_s")), C(rand(4, 5, name="ln_b"))], axis=2),
        node_case("softmax_last", "Softmax", [X(rand(3, 10, name="sm") * 5)]),
        node_case("softmax_axis1_4d", "Softmax", [X(x * 3)], axis=1),
        node_case("log_softmax", "LogSoftmax", [X(rand(2, 7, name="lsm") * 5)], axis=-1),
        node_case("log_softmax_axis0", "LogSoftmax", [X(rand(4, 3, name="lsm0"))], axis=0),
    ]
    # Identity and Dropout alias their operand; a Relu behind them makes them real ops.
    for op, attrs in (("Identity", {}), ("Dropout", {})):
        nodes = [helper.make_node(op, ["x"], ["t"], **attrs), helper.make_node("Relu", ["t"], ["y"])]
        model = finish_model(nodes, [helper.make_tensor_value_info("x", 1, [2, 3])], ["y"], [],
                             op.lower())
        cases.append(Case(op.lower(), model, {"x": rand(2, 3, name=op)}))
    return cases


def _conv_weights(m, c, kh, kw, name):
    return rand(m, c, kh, kw, name=name, low=-0.5, high=0.5)


def _nn() -> list[Case]:
    x = rand(1, 4, 9, 9, name="img")
    w = _conv_weights(8, 4, 3, 3, "w")
    b = rand(8, name="bias")
    cases = [
        node_case("conv3x3_pad1", "Conv", [X(x), C(w), C(b)], pads=[1, 1, 1, 1]),
        node_case("conv3x3_nopad_nobias", "Conv", [X(x), C(w)]),
        node_case("conv_stride2", "Conv", [X(x), C(w), C(b)], strides=[2, 2], pads=[1, 1, 1, 1]),
        node_case("conv_dilation2", "Conv", [X(x), C(w), C(b)], dilations=[2, 2],
                  pads=[2, 2, 2, 2]),
        node_case("conv_asym_pads", "Conv", [X(x), C(w), C(b)], pads=[0, 1, 2, 0]),
        node_case("conv_same_upper", "Conv", [X(x), C(w), C(b)], strides=[2, 2],
                  auto_pad="SAME_UPPER"),
        node_case("conv_1x3", "Conv", [X(x), C(_conv_weights(5, 4, 1, 3, "w13")), C(rand(5, name="b5"))],
                  pads=[0, 1, 0, 1]),
        node_case("conv_5x5_s2", "Conv", [X(rand(1, 3, 16, 16, name="i16")),
                                          C(_conv_weights(20, 3, 5, 5, "w55")),
                                          C(rand(20, name="b20"))], strides=[2, 2], pads=[2, 2, 2, 2]),
        node_case("conv_1x1", "Conv", [X(rand(1, 24, 7, 7, name="p")),
                                       C(_conv_weights(40, 24, 1, 1, "w11")), C(rand(40, name="b40"))]),
        node_case("conv_1x1_stride2", "Conv", [X(rand(1, 8, 7, 7, name="p2")),
                                               C(_conv_weights(16, 8, 1, 1, "w112"))], strides=[2, 2]),
        node_case("conv_group2", "Conv", [X(x), C(_conv_weights(6, 2, 3, 3, "wg")), C(rand(6, name="bg"))],
                  group=2, pads=[1, 1, 1, 1]),
        node_case("conv_depthwise", "Conv", [X(rand(1, 32, 8, 8, name="dwx")),
                                             C(_conv_weights(32, 1, 3, 3, "wdw")), C(rand(32, name="bdw"))],
                  group=32, pads=[1, 1, 1, 1]),
        node_case("conv_depthwise_s2_odd_channels", "Conv",
                  [X(rand(1, 21, 9, 9, name="dwo")), C(_conv_weights(21, 1, 3, 3, "wdwo"))],
                  group=21, strides=[2, 2], pads=[1, 1, 1, 1]),
        node_case("conv_depthwise_multiplier2", "Conv",
                  [X(rand(1, 4, 6, 6, name="dwm")), C(_conv_weights(8, 1, 3, 3, "wdwm"))], group=4),
        node_case("conv_batch2", "Conv", [X(rand(2, 4, 5, 5, name="b2")), C(w), C(b)], pads=[1, 1, 1, 1]),
        node_case("conv_transpose_s2", "ConvTranspose",
                  [X(rand(1, 4, 5, 5, name="ct")), C(_conv_weights(4, 3, 3, 3, "wct")), C(rand(3, name="bct"))],
                  strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
        node_case("conv_transpose_group_dilation", "ConvTranspose",
                  [X(rand(1, 4, 4, 4, name="ctg")), C(_conv_weights(4, 2, 3, 3, "wctg"))],
                  group=2, dilations=[2, 2]),
        node_case("gemm_transb", "Gemm", [X(rand(3, 20, name="ga")), C(rand(10, 20, name="gb")),
                                          C(rand(10, name="gc"))], transB=1),
        node_case("gemm_alpha_beta_fullc", "Gemm", [X(rand(4, 6, name="ga2")), C(rand(6, 5, name="gb2")),
                                                    C(rand(4, 5, name="gc2"))], alpha=0.5, beta=2.0),
        node_case("gemm_transa_dynamic_b", "Gemm", [X(rand(6, 3, name="ga3")), X(rand(6, 5, name="gb3"))],
                  transA=1),
        node_case("gemm_no_c", "Gemm", [X(rand(1, 33, name="ga4")), C(rand(33, 17, name="gb4"))]),
        node_case("matmul_2d_const", "MatMul", [X(rand(5, 8, name="ma")), C(rand(8, 3, name="mb"))]),
        node_case("matmul_batched", "MatMul", [X(rand(2, 3, 4, name="mba")), X(rand(2, 4, 5, name="mbb"))]),
        node_case("matmul_broadcast", "MatMul", [X(rand(2, 1, 3, 4, name="mca")), X(rand(3, 4, 2, name="mcb"))]),
        node_case("matmul_vec_mat", "MatMul", [X(rand(4, name="va")), X(rand(4, 3, name="vb"))]),
        node_case("matmul_mat_vec", "MatMul", [X(rand(3, 4, name="vc")), C(rand(4, name="vd"))]),
        node_case("batchnorm_4d", "BatchNormalization",
                  [X(x), C(rand(4, name="s", low=0.5)), C(rand(4, name="bb")), C(rand(4, name="mn")),
                   C(rand(4, name="var", low=0.5))], epsilon=1e-3),
        node_case("batchnorm_2d", "BatchNormalization",
                  [X(rand(3, 5, name="bn2")), C(rand(5, name="s2", low=0.5)), C(rand(5, name="b2")),
                   C(rand(5, name="m2")), C(rand(5, name="v2", low=0.5))]),
        node_case("lrn_size5", "LRN", [X(x)], size=5, alpha=1e-2, beta=0.75, bias=1.0),
        node_case("lrn_size3", "LRN", [X(x)], size=3, alpha=0.1, beta=0.5, bias=2.0),
    ]
    # conv -> batchnorm -> relu: the backend folds the batch norm and fuses the relu.
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("w", w), ("b", b), ("s", rand(8, name="s8", low=0.5)), ("bb", rand(8, name="bb8")),
        ("m", rand(8, name="m8")), ("v", rand(8, name="v8", low=0.5)))]
    model = finish_model(nodes, [helper.make_tensor_value_info("x", 1, [1, 4, 9, 9])], ["y"], inits,
                         "conv_bn_relu")
    cases.append(Case("conv_bn_relu", model, {"x": x}))
    return cases


def _pool() -> list[Case]:
    x = rand(1, 5, 9, 9, name="pool")
    return [
        node_case("maxpool_2x2", "MaxPool", [X(x)], kernel_shape=[2, 2], strides=[2, 2]),
        node_case("maxpool_3x3_s2_pad", "MaxPool", [X(x)], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
        node_case("maxpool_ceil", "MaxPool", [X(x)], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        node_case("maxpool_dilation", "MaxPool", [X(x)], kernel_shape=[2, 2], dilations=[2, 2]),
        node_case("avgpool_exclude_pad", "AveragePool", [X(x)], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
        node_case("avgpool_include_pad", "AveragePool", [X(x)], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], count_include_pad=1),
        node_case("avgpool_ceil", "AveragePool", [X(x)], kernel_shape=[2, 2], strides=[2, 2],
                  ceil_mode=1),
        node_case("avgpool_ceil_include_pad", "AveragePool", [X(x)], kernel_shape=[3, 3],
                  strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
        node_case("global_avgpool", "GlobalAveragePool", [X(x)]),
        node_case("global_maxpool", "GlobalMaxPool", [X(x)]),
        node_case("global_avgpool_3d", "GlobalAveragePool", [X(rand(2, 3, 7, name="g3"))]),
        # 8x8: the default unpooled size of a 2x2/2 pool holds every index.
        _pool_unpool("unpool_2x2", rand(1, 5, 8, 8, name="unpool"), kernel_shape=[2, 2],
                     strides=[2, 2]),
        _pool_unpool("unpool_3x3_s2_pad_shape", x, kernel_shape=[3, 3], strides=[2, 2],
                     pads=[1, 1, 1, 1], output_shape=True),
    ]


def _pool_unpool(name: str, x: np.ndarray, output_shape: bool = False, **attrs) -> Case:
    """MaxPool with its Indices output feeding MaxUnpool (overlapping windows repeat indices:
    the last value written stays), optionally back to the pooled input's shape."""
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    nodes = [helper.make_node("MaxPool", ["x"], ["v", "i"], name=f"{name}_pool", **attrs)]
    unpool_in, inits = ["v", "i"], []
    if output_shape:
        inits.append(numpy_helper.from_array(np.array(x.shape, I64), "shape"))
        unpool_in.append("shape")
    nodes.append(helper.make_node("MaxUnpool", unpool_in, ["out"], name=name, **attrs))
    return Case(name, finish_model(nodes, inputs, ["out"], inits, name), {"x": x})


def _shape() -> list[Case]:
    x = rand(2, 3, 4, 5, name="shape")
    return [
        node_case("concat_axis1", "Concat", [X(x), X(rand(2, 2, 4, 5, name="c2"))], axis=1),
        node_case("concat_axis_last_const", "Concat", [X(x), C(rand(2, 3, 4, 2, name="c3"))], axis=-1),
        node_case("reshape", "Reshape", [X(x), C(i64(6, -1))]),
        node_case("flatten", "Flatten", [X(x)], axis=2),
        node_case("squeeze_unsqueeze", "Unsqueeze", [X(rand(3, 4, name="u")), C(i64(0, 2))]),
        node_case("transpose", "Transpose", [X(x)], perm=[0, 2, 3, 1]),
        node_case("transpose_3d", "Transpose", [X(rand(2, 3, 4, name="t3"))], perm=[2, 0, 1]),
        node_case("slice_steps", "Slice", [X(x), C(i64(0, 1)), C(i64(3, 5)), C(i64(1, 3)), C(i64(2, 2))]),
        node_case("slice_negative_step", "Slice", [X(x), C(i64(-1)), C(i64(-100)), C(i64(3)), C(i64(-2))]),
        node_case("split", "Split", [X(x), C(i64(1, 2))], axis=1, outputs=2),
        node_case("pad_constant", "Pad", [X(x), C(i64(0, 1, 2, 0, 0, 0, 1, 3)), C(f32(1.5))]),
        node_case("pad_reflect", "Pad", [X(x), C(i64(0, 0, 2, 1, 0, 0, 1, 3))], mode="reflect"),
        node_case("pad_edge", "Pad", [X(x), C(i64(0, 0, 1, 2, 0, 0, 3, 1))], mode="edge"),
        node_case("pad_negative", "Pad", [X(x), C(i64(0, 0, -1, 1, 0, 0, 1, -2))]),
        node_case("resize_nearest_x2", "Resize", [X(x), "", C(f32(1, 1, 2, 2))], mode="nearest"),
        node_case("resize_nearest_asym_floor", "Resize", [X(x), "", C(f32(1, 1, 1.5, 0.6))], mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        node_case("resize_nearest_ceil_align", "Resize", [X(x), "", "", C(i64(2, 3, 7, 3))], mode="nearest",
                  coordinate_transformation_mode="align_corners", nearest_mode="ceil"),
        node_case("resize_linear_half_pixel", "Resize", [X(x), "", C(f32(1, 1, 2, 2))], mode="linear"),
        node_case("resize_linear_align_corners", "Resize", [X(x), "", "", C(i64(2, 3, 7, 9))], mode="linear",
                  coordinate_transformation_mode="align_corners"),
        node_case("resize_linear_pytorch_down", "Resize", [X(x), "", C(f32(1, 1, 0.5, 0.6))], mode="linear",
                  coordinate_transformation_mode="pytorch_half_pixel"),
        node_case("resize_linear_asymmetric", "Resize", [X(x), "", C(f32(1, 1, 1.7, 2.5))], mode="linear",
                  coordinate_transformation_mode="asymmetric"),
        node_case("reduce_mean_spatial", "ReduceMean", [X(x)], axes=[2, 3], keepdims=1),
        node_case("reduce_mean_axis1_nokeep", "ReduceMean", [X(x)], axes=[1], keepdims=0),
        node_case("reduce_mean_all", "ReduceMean", [X(x)], keepdims=0),
    ]


def _layouts() -> list[Case]:
    """Graphs that move tensors between the channel-last and the logical layout."""
    w = _conv_weights(6, 3, 3, 3, "lw")
    cases = []

    def model(name, nodes, shape, inits, outputs=("y",)):
        m = finish_model(nodes, [helper.make_tensor_value_info("x", 1, shape)], list(outputs),
                         [numpy_helper.from_array(a, n) for n, a in inits.items()], name)
        cases.append(Case(name, m, {"x": rand(*shape, name=name)}))

    # conv -> transpose -> conv: the transposed view must be made channel-last again
    model("conv_transpose_conv",
          [helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
           helper.make_node("Transpose", ["a"], ["t"], perm=[0, 1, 3, 2]),
           helper.make_node("Conv", ["t", "w2"], ["y"])],
          [1, 3, 6, 7], {"w": w, "w2": _conv_weights(4, 6, 1, 1, "lw2")})
    # conv -> flatten -> gemm, conv -> slice -> maxpool and an NHWC tensor added to an NCHW one
    model("conv_flatten_gemm",
          [helper.make_node("Conv", ["x", "w"], ["a"]),
           helper.make_node("Flatten", ["a"], ["f"]),
           helper.make_node("Gemm", ["f", "g"], ["y"], transB=1)],
          [1, 3, 5, 5], {"w": w, "g": rand(7, 54, name="lg")})
    model("conv_slice_pool",
          [helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
           helper.make_node("Slice", ["a", "st", "en", "ax"], ["s"]),
           helper.make_node("MaxPool", ["s"], ["y"], kernel_shape=[2, 2])],
          [1, 3, 6, 6], {"w": w, "st": i64(1, 1), "en": i64(5, 6), "ax": i64(1, 2)})
    model("conv_add_input_relu",
          [helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
           helper.make_node("Add", ["a", "x6"], ["s"]),
           helper.make_node("Relu", ["s"], ["y"])],
          [1, 3, 4, 4], {"w": w, "x6": rand(1, 6, 4, 4, name="x6")})
    model("conv_two_outputs_concat",
          [helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
           helper.make_node("Relu", ["a"], ["r"]),
           helper.make_node("Concat", ["a", "r", "x"], ["y"], axis=1)],
          [1, 3, 4, 4], {"w": w}, outputs=("y", "a"))
    return cases


FAMILIES = {"elementwise": _elementwise, "nn": _nn, "pool": _pool, "shape": _shape,
            "layouts": _layouts}
CASES = {name: fn() for name, fn in FAMILIES.items()}
ALL = [(family, case) for family, cases in CASES.items() for case in cases]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    require_compiler()
    return shared(tmp_path_factory, "ops", lambda root: build_batches(root, CASES))


@pytest.mark.parametrize("family,case", ALL, ids=[c.name for _, c in ALL])
def test_op_matches_onnxruntime(outputs, family, case):
    assert_close(case, outputs[case.name], run_ort(case.model, case.feeds))


def test_every_op_has_a_kernel():
    from .refused_ops import REFUSED
    missing = sorted(name for name, cls in OPS.items()
                     if cls is not ops.Constant and cls not in LOWERINGS and name not in REFUSED)
    assert not missing, f"ops without a C lowering: {missing}"
