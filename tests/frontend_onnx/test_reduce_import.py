"""Import of the reductions (both axes forms, keepdims, noop_with_empty_axes) and of
InstanceNormalization / GroupNormalization (opset 18 per-group and opset 21 per-channel
scale), against onnxruntime; the text form round-trips; bad attributes are n2d2c errors."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.errors import ShapeError, UnsupportedError
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import ops

from .harness import check_outputs, roundtrip_text, run_ort
from .single_node import C, X, rand, single_node_model

x4 = rand(2, 3, 4, 5)
positive = np.abs(x4) + 0.1
REDUCTIONS = [cls.__name__ for cls in ops.REDUCTIONS]


def i64(*v):
    return np.array(v, np.int64)


def _axes_forms():
    """(op, opset, inputs, attrs): the axes as an attribute before the opset that made
    them an input (ReduceSum 13, the others 18), and as a constant input from there."""
    for op in REDUCTIONS:
        since = 13 if op == "ReduceSum" else 18
        x = X(positive if op in ("ReduceLogSum", "ReduceProd") else x4)
        yield f"{op}-{since - 2}-attr", (op, since - 2, [x], dict(axes=[1, -1], keepdims=0))
        yield f"{op}-{since}-input", (op, since, [x, C(i64(0, 2))], {})
        yield f"{op}-{since}-all", (op, since, [x], dict(keepdims=0))
        yield f"{op}-{since}-noop", (op, since, [x], dict(noop_with_empty_axes=1))


_F32 = lambda *v: np.array(v, np.float32)  # noqa: E731
NORMS = {
    "instance-norm": ("InstanceNormalization", 6, [X(x4), C(_F32(1, 2, 0.5)), C(_F32(0, 1, -1))],
                      dict(epsilon=1e-3)),
    "instance-norm-3d": ("InstanceNormalization", 6, [X(rand(2, 4, 7)), C(rand(4, seed=1)),
                                                       C(rand(4, seed=2))], {}),
    "instance-norm-runtime-scale": ("InstanceNormalization", 6, [X(x4), X(rand(3, seed=3)),
                                                                  X(rand(3, seed=4))], {}),
    "group-norm-18": ("GroupNormalization", 18, [X(rand(2, 6, 3, 4)), C(_F32(1, 2, 3)),
                                                 C(_F32(0, -1, 1))], dict(num_groups=3)),
    "group-norm-18-one-group": ("GroupNormalization", 18, [X(x4), C(_F32(2)), C(_F32(0.5))],
                                dict(num_groups=1, epsilon=1e-2)),
    "group-norm-21": ("GroupNormalization", 21, [X(rand(2, 6, 3, 4)), C(rand(6, seed=5)),
                                                 C(rand(6, seed=6))], dict(num_groups=2)),
    "group-norm-21-per-channel-groups": ("GroupNormalization", 21, [X(x4), C(rand(3, seed=7)),
                                                                    C(rand(3, seed=8))],
                                         dict(num_groups=3)),
}
CASES = {**dict(_axes_forms()), **NORMS}


@pytest.mark.parametrize("case_id", list(CASES))
def test_matches_onnxruntime(case_id):
    op, opset, inputs, attrs = CASES[case_id]
    model, feeds = single_node_model(op, opset, inputs, infer=not op.endswith("Normalization"),
                                     **attrs)
    graph = load_onnx(model)
    roundtrip_text(graph)
    problem = check_outputs(graph, feeds, run_ort(model, feeds))
    assert problem is None, problem


def test_each_reduction_imports_as_its_ir_op():
    for cls in ops.REDUCTIONS:
        model, _ = single_node_model(cls.__name__, 18, [X(x4), C(i64(-1))], keepdims=0)
        (op,) = load_onnx(model).ops  # the axes are read at import: no constant op
        assert type(op) is cls and op.axes == (3,) and op.keepdims is False


def test_noop_with_empty_axes_reduces_each_element_alone():
    """No axes reduce nothing: the identity, except where the reduction of one element is
    not the element itself (|x|, x * x, log x)."""
    model, _ = single_node_model("ReduceMax", 18, [X(x4)], noop_with_empty_axes=1)
    assert [op.OP_NAME for op in load_onnx(model).ops] == ["identity"]
    model, _ = single_node_model("ReduceL1", 18, [X(x4)], noop_with_empty_axes=1)
    graph = load_onnx(model)
    assert [op.OP_NAME for op in graph.ops] == ["reshape", "reduce_l1"]
    assert graph.outputs[0].shape == x4.shape


def test_constant_reductions_fold():
    model, _ = single_node_model("ReduceL2", 18, [C(x4), C(i64(1))])
    graph = load_onnx(model)
    assert [op.OP_NAME for op in graph.ops] == ["constant"]
    np.testing.assert_allclose(graph.constant_value(graph.outputs[0]),
                               np.sqrt((x4.astype(np.float64) ** 2).sum(1, keepdims=True)),
                               rtol=1e-6)


@pytest.mark.parametrize("op,opset,inputs,attrs,error,needle", [
    ("ReduceSum", 13, [X(x4), C(i64(4))], {}, ShapeError, "out of range for rank 4"),
    ("ReduceMax", 13, [X(x4)], dict(axes=[-5]), ShapeError, "out of range for rank 4"),
    ("ReduceL1", 18, [X(x4), C(i64(1, -3))], {}, ShapeError, "repeat an axis"),
    ("ReduceMin", 18, [X(x4), X(i64(1))], {}, UnsupportedError, "must be known at compile time"),
    ("ReduceSum", 13, [X(i64(1, 2, 3))], {}, UnsupportedError, "int64"),
    ("GroupNormalization", 18, [X(x4), C(_F32(1, 1)), C(_F32(0, 0))], dict(num_groups=2),
     ShapeError, "does not divide the 3 channels"),
    ("GroupNormalization", 18, [X(x4), C(_F32(1)), C(_F32(0))], {}, ShapeError, "num_groups"),
    ("GroupNormalization", 21, [X(rand(2, 6, 3)), C(_F32(1, 1, 1)), C(_F32(0, 0, 0))],
     dict(num_groups=3), ShapeError, "expected [6]"),
    ("InstanceNormalization", 6, [X(rand(2, 3)), C(_F32(1, 1, 1)), C(_F32(0, 0, 0))], {},
     ShapeError, "rank >= 3"),
])
def test_bad_nodes_are_n2d2c_errors(op, opset, inputs, attrs, error, needle):
    model, _ = single_node_model(op, opset, inputs, infer=False, **attrs)
    with pytest.raises(error) as info:
        load_onnx(model)
    assert needle in info.value.message and f"({op})" in info.value.message
