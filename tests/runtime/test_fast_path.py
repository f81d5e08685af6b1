"""The simulator's default fast path (n2d2c/runtime/fast): float32 BLAS kernels against
onnxruntime over the op-variant set, the exact-BLAS integer kernels against the int64
reference kernels bit for bit, and the kernel selection by precision."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import Simulator, find_kernel
from n2d2c.runtime import fast
from n2d2c.runtime.fast.integer import channel_chunks, exact_dtype
from n2d2c.runtime.kernels import conv as reference_conv

from ._harness import check, rand

# (x shape, w shape, attrs): strides, dilations, groups, padding, odd channels, 1x1, 7x7
VARIANTS = [
    ((1, 7, 11, 13), (5, 7, 3, 3), dict(pads=(1, 1, 1, 1))),               # odd channels
    ((2, 5, 12, 12), (9, 5, 1, 1), dict()),                                 # pointwise, batch 2
    ((1, 6, 12, 12), (4, 6, 1, 1), dict(strides=(2, 2))),                   # strided 1x1
    ((1, 3, 23, 21), (8, 3, 7, 7), dict(strides=(2, 2), pads=(3, 3, 3, 3))),  # 7x7 stem
    ((1, 6, 15, 14), (9, 2, 3, 3), dict(group=3, pads=(0, 1, 2, 1))),       # grouped
    ((1, 9, 16, 16), (9, 1, 3, 3), dict(group=9, strides=(2, 2), pads=(1, 1, 1, 1))),
    ((1, 5, 13, 13), (10, 1, 3, 3), dict(group=5, dilations=(2, 2), pads=(2, 2, 2, 2))),
    ((2, 7, 6, 9), (7, 1, 5, 3), dict(group=7, pads=(0, 1, 3, 2))),        # depthwise, uneven pads
    ((1, 4, 17, 15), (6, 4, 3, 2), dict(dilations=(2, 3), strides=(1, 2), pads=(1, 2, 0, 1))),
    ((1, 3, 5, 5), (2, 3, 7, 7), dict(pads=(3, 3, 3, 3), strides=(3, 3))),  # kernel > input
    ((1, 64, 9, 9), (32, 64, 3, 3), dict(pads=(1, 1, 1, 1))),              # long dot products
]


def _onnx_attrs(attrs):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}


def test_fast_kernels_are_the_default_and_reference_keeps_the_old_ones():
    g = Graph("k")
    x = g.add_input("x", TensorType((1, 2, 4, 4), DType.F32))
    conv = g.add(ops.Conv2d(), [x, g.constant(rand(3, 2, 3, 3), "w")])
    assert find_kernel(conv, "cpu", "fast") is fast.conv.conv2d
    assert find_kernel(conv, "cpu", "reference") is reference_conv.conv2d
    assert find_kernel(conv) is reference_conv.conv2d   # the plain lookup is unchanged
    g.outputs = list(conv.outputs)
    assert Simulator(g)._plan[-1][1] is fast.conv.conv2d
    assert Simulator(g, precision="reference")._plan[-1][1] is reference_conv.conv2d


@pytest.mark.parametrize("activation", ["none", "relu"])
@pytest.mark.parametrize("xs,ws,attrs", VARIANTS, ids=lambda v: str(v).replace(" ", ""))
def test_fast_conv_matches_onnxruntime(xs, ws, attrs, activation):
    arrays = {"x": rand(*xs), "w": rand(*ws, seed=1), "b": rand(ws[0], seed=2)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c" if activation == "relu" else "y"],
                              kernel_shape=list(ws[2:]), **_onnx_attrs(attrs))]
    if activation == "relu":
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    check(ops.Conv2d(activation=activation, **attrs), nodes if len(nodes) > 1 else nodes[0],
          arrays, consts=("w", "b"))


@pytest.mark.parametrize("xs,ws,attrs", [
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(strides=(2, 2), pads=(1, 0, 1, 0))),
    ((1, 6, 5, 5), (6, 1, 3, 3), dict(group=6, strides=(2, 2), dilations=(2, 1))),
])
def test_fast_conv_transpose_matches_onnxruntime(xs, ws, attrs):
    arrays = {"x": rand(*xs), "w": rand(*ws, seed=1), "b": rand(ws[1] * attrs.get("group", 1))}
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=list(ws[2:]),
                            **_onnx_attrs(attrs))
    check(ops.ConvTranspose2d(**attrs), node, arrays, consts=("w", "b"))


@pytest.mark.parametrize("kind,attrs", [
    ("MaxPool", dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))),
    ("MaxPool", dict(kernel=(2, 3), strides=(2, 1), dilations=(2, 1), ceil_mode=True)),
    ("AveragePool", dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1),
                         count_include_pad=True)),
    ("AveragePool", dict(kernel=(3, 2), strides=(2, 2), pads=(1, 0, 1, 1), ceil_mode=True)),
])
def test_fast_pool_matches_onnxruntime(kind, attrs):
    arrays = {"x": rand(2, 3, 11, 10)}
    onnx_attrs = {("kernel_shape" if k == "kernel" else k): (list(v) if isinstance(v, tuple)
                                                             else int(v)) for k, v in attrs.items()}
    node = helper.make_node(kind, ["x"], ["y"], **onnx_attrs)
    op = ops.MaxPool2d(**attrs) if kind == "MaxPool" else ops.AvgPool2d(**attrs)
    check(op, node, arrays)


@pytest.mark.parametrize("trans_b", [False, True])
def test_fast_gemm_and_matmul_match_onnxruntime(trans_b):
    a, b, c = rand(3, 37), rand(*((19, 37) if trans_b else (37, 19)), seed=1), rand(19, seed=2)
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=int(trans_b), alpha=0.5)
    check(ops.Gemm(trans_b=trans_b, alpha=0.5), node, {"a": a, "b": b, "c": c},
          consts=("b", "c"))
    node = helper.make_node("Gemm", ["a", "b"], ["y"], transB=int(trans_b))
    check(ops.Gemm(trans_b=trans_b), node, {"a": rand(6, 6), "b": rand(6, 6, seed=4)},
          consts=("b",))   # as many rows as the inner dimension: B is not batched
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    check(ops.MatMul(), node, {"a": rand(2, 5, 33), "b": rand(33, 7, seed=3)}, consts=("b",))
    check(ops.MatMul(), node, {"a": rand(3, 5, 8), "b": rand(3, 8, 4, seed=5)})
    check(ops.MatMul(), node, {"a": rand(3, 8), "b": rand(8, 3, seed=6)})


def _conv_graph(x, w, b, op):
    g = Graph("conv")
    xv = g.add_input("x", TensorType(x.shape, DType.from_numpy(x.dtype)))
    g.outputs = [g.add(op, [xv, g.constant(w, "w"), g.constant(b, "b")], ["y"]).output]
    return g


def _exact_conv(x, w, b, op):
    """float64 convolution by shifted windows (independent of both kernel sets)."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    out = _conv_graph(x, w, b, op).outputs[0].type.shape
    (sh, sw), (dh, dw), pads, g = op.strides, op.dilations, op.pads, op.group
    xp = np.zeros((n, c, h + pads[0] + pads[2] + kh * dh, wd + pads[1] + pads[3] + kw * dw))
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + wd] = x
    y = np.zeros(out) + b.reshape(1, -1, 1, 1)
    for i in range(kh):
        for j in range(kw):
            view = xp[:, :, i * dh:i * dh + (out[2] - 1) * sh + 1:sh,
                      j * dw:j * dw + (out[3] - 1) * sw + 1:sw]
            view = view.reshape(n, g, cg, out[2], out[3])
            wt = w[:, :, i, j].astype(np.float64).reshape(g, m // g, cg)
            y += np.einsum("ngchw,gmc->ngmhw", view, wt).reshape(y.shape)
    return y


def test_reference_precision_rounds_once_and_fast_is_float32_close():
    # Positive data: sums of 576 terms with no cancellation, where float32 accumulation
    # loses several ulps and the float64 reference at most half of one.
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (1, 64, 10, 10)).astype(np.float32)
    w = rng.uniform(0, 1, (16, 64, 3, 3)).astype(np.float32)
    b = rng.uniform(0, 1, 16).astype(np.float32)
    op = ops.Conv2d(pads=(1, 1, 1, 1))
    truth = _exact_conv(x, w, b, op)
    g = _conv_graph(x, w, b, op)
    reference = Simulator(g, precision="reference").run({"x": x})["y"]
    fast_result = Simulator(g).run({"x": x})["y"]
    np.testing.assert_array_max_ulp(reference, truth.astype(np.float32), maxulp=1)
    np.testing.assert_allclose(fast_result, truth, rtol=1e-5)
    assert np.abs(fast_result - truth).max() >= np.abs(reference - truth).max()


INT_VARIANTS = [
    (dict(), (1, 7, 9, 9), (5, 7, 3, 3)),
    (dict(strides=(2, 2), pads=(3, 3, 3, 3)), (2, 3, 15, 15), (4, 3, 7, 7)),
    (dict(group=3, pads=(1, 0, 1, 2)), (1, 6, 8, 8), (9, 2, 3, 3)),
    (dict(group=6, strides=(2, 1), dilations=(2, 2), pads=(2, 2, 2, 2)), (1, 6, 9, 9),
     (12, 1, 3, 3)),
    (dict(), (1, 5, 6, 6), (3, 5, 1, 1)),
    (dict(group=4, pads=(1, 2, 0, 1)), (2, 4, 7, 8), (8, 1, 3, 3)),  # depthwise, stride 1
]


@pytest.mark.parametrize("magnitude", ["int8", "float64-exact", "int64-only"])
@pytest.mark.parametrize("attrs,xs,ws", INT_VARIANTS, ids=lambda v: str(v).replace(" ", ""))
def test_fast_integer_conv_is_bit_exact(attrs, xs, ws, magnitude):
    """Each magnitude takes another path: float32 BLAS, float64 BLAS, the int64 kernel."""
    rng = np.random.default_rng(len(xs) + sum(ws))
    xdt, wdt, xtop, wtop = {"int8": (np.int8, np.int8, 127, 127),
                            "float64-exact": (np.int32, np.int16, 1 << 20, 32767),
                            "int64-only": (np.int32, np.int32, 1 << 28, 1 << 28)}[magnitude]
    x = rng.integers(-xtop, xtop, xs, endpoint=True).astype(xdt)
    w = rng.integers(-wtop, wtop, ws, endpoint=True).astype(wdt)
    bdt = np.int32 if xdt is np.int8 else np.int64   # the accumulator type
    b = rng.integers(-(1 << 20), 1 << 20, ws[0]).astype(bdt)
    op = ops.Conv2d(**attrs)
    want = {"int8": np.float32, "float64-exact": np.float64, "int64-only": None}[magnitude]
    assert exact_dtype(x, w.reshape(ws[0], -1)) is want
    g = _conv_graph(x, w, b, op)
    got = Simulator(g).run({"x": x})["y"]
    ref = Simulator(g, precision="reference").run({"x": x})["y"]
    np.testing.assert_array_equal(got, ref)
    if magnitude != "int64-only":  # the float64 check would itself round above 2**53
        np.testing.assert_array_equal(got, _exact_conv(x, w, b, op).astype(np.int64))


@pytest.mark.parametrize("trans_b", [False, True])
def test_fast_integer_gemm_is_bit_exact(trans_b):
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 127, (4, 300), endpoint=True).astype(np.int8)
    b = rng.integers(-127, 127, (10, 300) if trans_b else (300, 10), endpoint=True).astype(np.int8)
    c = rng.integers(-(1 << 24), 1 << 24, 10).astype(np.int32)
    g = Graph("gemm")
    av = g.add_input("a", TensorType(a.shape, DType.I8))
    g.outputs = [g.add(ops.Gemm(trans_b=trans_b), [av, g.constant(b, "b"), g.constant(c, "c")],
                       ["y"]).output]
    got = Simulator(g).run({"a": a})["y"]
    bb = b.T if trans_b else b
    np.testing.assert_array_equal(got, a.astype(np.int64) @ bb.astype(np.int64) + c)


def test_fast_integer_conv_over_channel_chunks_is_bit_exact():
    """u8 x int8 with 120 input channels passes 2**24 in one float32 product: the
    kernel sums exact float32 products over channel ranges instead."""
    rng = np.random.default_rng(11)
    x = rng.integers(200, 255, (2, 120, 5, 5), endpoint=True).astype(np.uint8)
    w = rng.integers(100, 127, (7, 120, 3, 3), endpoint=True).astype(np.int8)
    w[::2] *= -1
    b = rng.integers(-1000, 1000, 7).astype(np.int32)
    op = ops.Conv2d(pads=(1, 1, 1, 1))
    assert exact_dtype(x, w.reshape(7, -1)) is np.float64
    chunks = channel_chunks(w, np.uint8)
    assert chunks is not None and len(chunks) > 1 and chunks[-1][1] == 120
    g = _conv_graph(x, w, b, op)
    got = Simulator(g).run({"x": x})["y"]
    np.testing.assert_array_equal(got, Simulator(g, precision="reference").run({"x": x})["y"])
    np.testing.assert_array_equal(got, _exact_conv(x, w, b, op).astype(np.int64))
