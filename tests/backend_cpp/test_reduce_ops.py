"""The reductions and the normalizations decomposed into them, compiled to C++ and to C99,
run, and compared with onnxruntime.

Every reduction over several axis sets (the one ``reduce`` kernel with its init / step /
finish per kind, spelling.j2), some reading a convolution's channel-last result (the
accumulation runs in the input's memory order); LogSumExp of values whose exp overflows
float32; InstanceNormalization and GroupNormalization (opset 21) after a convolution.
The cases are merged into one network per target and built once (harness.py).
"""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from n2d2c.ir import ops

from .harness import C, X, Case, family_tests, finish_model, node_case, rand


def i64(*values):
    return np.array(values, np.int64)


def _input(op: str, shape, name: str) -> np.ndarray:
    x = rand(*shape, name=name)
    if op in ("ReduceLogSum", "ReduceProd"):
        return np.abs(x) * 0.5 + 0.5  # positive, products of moderate size
    if op == "ReduceLogSumExp":
        return x * 60  # exp overflows float32: the running log-sum-exp must not
    return x


def _after_conv(name: str, op: str, x: np.ndarray, inits=(), opset: int = 18, **attrs) -> Case:
    """``op`` reading a convolution's result (kept channel-last by the backends)."""
    c = x.shape[1]
    w = rand(c, c, 1, 1, name=name + "w", low=-0.5, high=0.5)
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"]),
             helper.make_node(op, ["a", *(n for n, _ in inits)], ["y"], name=name, **attrs)]
    model = finish_model(nodes, [helper.make_tensor_value_info("x", 1, x.shape)], ["y"],
                         [numpy_helper.from_array(w, "w"),
                          *(numpy_helper.from_array(a, n) for n, a in inits)], name, opset)
    return Case(name, model, {"x": x})


def _reductions() -> list[Case]:
    cases = []
    for cls in ops.REDUCTIONS:
        op = cls.__name__
        x = _input(op, (2, 3, 4, 5), op)
        cases += [
            node_case(f"{cls.OP_NAME}_spatial", op, [X(x), C(i64(2, 3))], opset=18),
            node_case(f"{cls.OP_NAME}_axis1_nokeep", op, [X(x), C(i64(1))], opset=18,
                      keepdims=0),
            node_case(f"{cls.OP_NAME}_all", op, [X(x)], opset=18, keepdims=0),
            node_case(f"{cls.OP_NAME}_attr_axes_0_2", op, [X(x)],
                      opset=11 if cls is ops.ReduceSum else 13, axes=[0, -2]),
        ]
    cases += [
        _after_conv("reduce_sum_nhwc_channels", "ReduceSum", rand(1, 6, 3, 4, name="rc"),
                    [("axes", i64(1))], keepdims=0),
        _after_conv("reduce_log_sum_exp_nhwc_spatial", "ReduceLogSumExp",
                    rand(1, 4, 3, 5, name="rl") * 40, [("axes", i64(2, 3))]),
        _after_conv("reduce_l2_nhwc_all", "ReduceL2", rand(1, 5, 2, 3, name="r2"), keepdims=0),
        node_case("reduce_l1_noop_with_empty_axes", "ReduceL1", [X(rand(2, 3, name="n1"))],
                  opset=18, noop_with_empty_axes=1),
        node_case("reduce_sum_square_noop_with_empty_axes", "ReduceSumSquare",
                  [X(rand(2, 3, name="n2"))], opset=18, noop_with_empty_axes=1),
    ]
    return cases


def _normalizations() -> list[Case]:
    x = rand(2, 6, 5, 4, name="nx")
    return [
        node_case("instance_norm", "InstanceNormalization",
                  [X(x), C(rand(6, name="is")), C(rand(6, name="ib"))], epsilon=1e-3),
        _after_conv("instance_norm_nhwc", "InstanceNormalization", rand(1, 4, 3, 3, name="in"),
                    [("s", rand(4, name="ins")), ("b", rand(4, name="inb"))]),
        node_case("group_norm_21", "GroupNormalization",
                  [X(x), C(rand(6, name="gs")), C(rand(6, name="gb"))], opset=21, num_groups=3),
        _after_conv("group_norm_21_nhwc", "GroupNormalization", rand(1, 8, 3, 3, name="gn"),
                    [("s", rand(8, name="gns")), ("b", rand(8, name="gnb"))], opset=21,
                    num_groups=2),
    ]


CASES = {"reduce": _reductions(), "norm": _normalizations()}
ALL = [case for cases in CASES.values() for case in cases]


cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime, test_c99_matches_onnxruntime = \
    family_tests("reduce_ops", CASES)
