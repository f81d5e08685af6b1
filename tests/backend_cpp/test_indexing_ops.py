"""Indexing ops and batched MatMul compiled to C++ (and to C99), run, compared with onnxruntime.

The cases are merged into one network per target and built once (harness.py): Gather
and GatherElements with constant (negative, int32) and run-time indices, Expand,
Tile, DepthToSpace/SpaceToDepth, Trilu, and the MatMul shapes of attention blocks,
some reading the channel-last result of a convolution (strided views).
"""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from .harness import C, X, Case, family_tests, finish_model, node_case, rand

I64, I32 = np.int64, np.int32


def i64(*values):
    return np.array(values, I64)


def _after_conv(name: str, op: str, x: np.ndarray, extra_inits=(), **attrs) -> Case:
    """``op`` reading a convolution's result, which the backends keep channel-last."""
    c = x.shape[1]
    w = rand(c, c, 1, 1, name=name + "w", low=-0.5, high=0.5)
    inits = [numpy_helper.from_array(w, "w"), *(numpy_helper.from_array(a, n)
                                                for n, a in extra_inits)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"]),
             helper.make_node(op, ["a", *(n for n, _ in extra_inits)], ["y"], name=name, **attrs)]
    model = finish_model(nodes, [helper.make_tensor_value_info("x", 1, x.shape)], ["y"], inits,
                         name)
    return Case(name, model, {"x": x})


def _pool_indices_gather(name: str) -> Case:
    """Gather with indices computed at run time: MaxPool's flat argmax positions pick the
    maxima out of the flattened input again."""
    x = rand(1, 3, 4, 4, name=name)
    nodes = [helper.make_node("MaxPool", ["x"], ["v", "i"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["x", "flat"], ["f"]),
             helper.make_node("Gather", ["f", "i"], ["y"], name=name, axis=0)]
    model = finish_model(nodes, [helper.make_tensor_value_info("x", 1, x.shape)], ["y"],
                         [numpy_helper.from_array(np.array([-1], I64), "flat")], name)
    return Case(name, model, {"x": x})


def _indexing() -> list[Case]:
    x = rand(2, 5, 3, 4, name="ix")
    ge = np.random.default_rng(3).integers(-5, 5, (2, 4, 3, 2))
    return [
        node_case("gather_axis0_2d_indices", "Gather", [X(rand(5, 3, name="g0")),
                                                        C(np.array([[0, -1], [3, 2]], I64))]),
        node_case("gather_axis1_negative", "Gather", [X(x), C(np.array([4, -5, 1], I64))], axis=1),
        node_case("gather_scalar_axis_last_int32", "Gather", [X(x), C(np.array(-2, I32))],
                  axis=-1),
        node_case("gather_scalar_middle", "Gather", [X(x), C(np.array(1, I64))], axis=2),
        _after_conv("gather_nhwc_channels", "Gather", rand(1, 4, 3, 3, name="gc"),
                    [("idx", np.array([3, 0, 0], I64))], axis=1),
        _pool_indices_gather("gather_runtime_indices"),
        node_case("gather_elements_axis1", "GatherElements", [X(x), C(ge)], axis=1),
        node_case("gather_elements_axis_last_smaller", "GatherElements",
                  [X(x), C(np.array([[[[0, -1]]], [[[3, 2]]]], I32))], axis=-1),
        node_case("gather_elements_axis0", "GatherElements",
                  [X(rand(3, 4, name="ge0")), C(np.array([[2, 0, -1, 1]], I64))], axis=0),
        node_case("expand_rank_up", "Expand", [X(rand(3, 1, name="e1")), C(i64(2, 1, 4))]),
        node_case("expand_shape_of_ones", "Expand", [X(rand(2, 3, name="e2")), C(i64(1, 1))]),
        _after_conv("expand_nhwc", "Expand", rand(1, 3, 1, 2, name="en"),
                    [("shape", np.array([2, 3, 4, 2], I64))]),
        node_case("tile_2d", "Tile", [X(rand(3, 2, name="t1")), C(i64(2, 3))]),
        node_case("tile_3d_some_once", "Tile", [X(rand(2, 1, 3, name="t2")), C(i64(1, 4, 2))]),
        node_case("depth_to_space_dcr", "DepthToSpace", [X(rand(2, 8, 2, 3, name="d1"))],
                  blocksize=2),
        node_case("depth_to_space_crd", "DepthToSpace", [X(rand(1, 18, 2, 2, name="d2"))],
                  blocksize=3, mode="CRD"),
        _after_conv("depth_to_space_nhwc", "DepthToSpace", rand(1, 8, 3, 3, name="dn"),
                    blocksize=2),
        node_case("space_to_depth", "SpaceToDepth", [X(rand(2, 3, 4, 6, name="s1"))],
                  blocksize=2),
        node_case("trilu_upper", "Trilu", [X(rand(2, 4, 5, name="tu"))]),
        node_case("trilu_lower_k1", "Trilu", [X(rand(3, 5, name="tl")), C(i64(1).reshape(()))],
                  upper=0),
        node_case("trilu_upper_k_negative", "Trilu", [X(rand(2, 2, 5, 3, name="tn")),
                                                      C(i64(-1).reshape(()))]),
    ]


def _matmul() -> list[Case]:
    q = rand(2, 3, 5, 4, name="q")
    k = rand(2, 3, 5, 4, name="k")
    # Q @ K^T of attention: both operands at run time, K transposed as a strided view.
    attention = finish_model(
        [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
         helper.make_node("MatMul", ["q", "kt"], ["y"], name="q_kt")],
        [helper.make_tensor_value_info(n, 1, a.shape) for n, a in (("q", q), ("k", k))],
        ["y"], [], "matmul_q_kt")
    return [
        Case("matmul_q_kt", attention, {"q": q, "k": k}),
        node_case("matmul_4d_broadcast_both", "MatMul", [X(rand(2, 1, 3, 4, name="b1")),
                                                         X(rand(1, 5, 4, 2, name="b2"))]),
        node_case("matmul_3d_const_2d", "MatMul", [X(rand(2, 5, 8, name="l1")),
                                                   C(rand(8, 6, name="w1"))]),
        node_case("matmul_3d_const_3d", "MatMul", [X(rand(2, 5, 8, name="l2")),
                                                   C(rand(2, 8, 3, name="w2"))]),
        node_case("matmul_const_a_runtime_b", "MatMul", [C(rand(4, 3, name="ca")),
                                                         X(rand(2, 3, 5, name="cb"))]),
        node_case("matmul_4d_by_2d_runtime", "MatMul", [X(rand(2, 3, 2, 4, name="r1")),
                                                        X(rand(4, 3, name="r2"))]),
    ]


CASES = {"indexing": _indexing(), "matmul": _matmul()}
ALL = [case for cases in CASES.values() for case in cases]


cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime, test_c99_matches_onnxruntime = \
    family_tests("indexing_ops", CASES)
