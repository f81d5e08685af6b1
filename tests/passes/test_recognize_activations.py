"""`recognize-activations` on ONNX models written the way torch.onnx exports hard-swish,
relu6 and GELU below the opsets that have those ops, through the canonical pipeline
and the quantizer's ``prepare_graph``; the pattern cases are in ir/recognize_activations.ir."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import ops
from n2d2c.passes.canonical import canonical_form, is_canonical
from n2d2c.quantization import calibrate_data, prepare_graph, quantize_graph
from n2d2c.runtime import simulate


def _scalar(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def torch_style_model() -> onnx.ModelProto:
    """conv -> hard-swish (Add, Clip with min/max inputs, Mul, Div) -> conv -> relu6 as
    Min(Max(x, 0), 6) -> conv -> GELU (Div, Erf, Add, Mul, Mul)."""
    rng = np.random.default_rng(3)
    weights = [numpy_helper.from_array(rng.normal(0, 0.6, (4, c, 3, 3)).astype(np.float32),
                                       f"w{i}") for i, c in enumerate((3, 4, 4))]
    inits = weights + [_scalar("three", 3.0), _scalar("zero", 0.0), _scalar("six", 6.0),
                       _scalar("sqrt2", 1.4142135381698608), _scalar("one", 1.0),
                       _scalar("half", 0.5)]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]),
        n("Add", ["c0", "three"], ["hs_add"]),
        n("Clip", ["hs_add", "zero", "six"], ["hs_clip"]),
        n("Mul", ["c0", "hs_clip"], ["hs_mul"]),
        n("Div", ["hs_mul", "six"], ["hswish"]),
        n("Conv", ["hswish", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        n("Max", ["c1", "zero"], ["r_max"]),
        n("Min", ["r_max", "six"], ["relu6"]),
        n("Conv", ["relu6", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        n("Div", ["c2", "sqrt2"], ["g_div"]),
        n("Erf", ["g_div"], ["g_erf"]),
        n("Add", ["g_erf", "one"], ["g_add"]),
        n("Mul", ["c2", "g_add"], ["g_mul"]),
        n("Mul", ["g_mul", "half"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "torch_style", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _onnxruntime(model, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def test_torch_export_becomes_single_ops_in_the_canonical_form():
    model = torch_style_model()
    graph = load_onnx(model)
    assert graph.ops_of(ops.Erf) and graph.ops_of(ops.Max)  # imported as written
    assert not is_canonical(graph)
    canonical = canonical_form(graph)
    kinds = [type(op) for op in canonical.ops if not isinstance(op, ops.Constant)]
    assert kinds == [ops.Conv2d, ops.HardSwish, ops.Conv2d, ops.Conv2d, ops.Gelu]
    relu6 = canonical.ops_of(ops.Conv2d)[1]
    assert (relu6.activation, relu6.activation_min, relu6.activation_max) == ("clip", 0.0, 6.0)
    assert canonical.ops_of(ops.Gelu)[0].approximate == "none"
    assert [v.name for v in canonical.outputs] == ["y"]

    x = np.random.default_rng(0).normal(0, 1.5, (1, 3, 6, 6)).astype(np.float32)
    expected = _onnxruntime(model, {"x": x})
    for g in (graph, canonical):
        np.testing.assert_allclose(simulate(g, {"x": x})["y"], expected, rtol=1e-4, atol=1e-4)


def test_prepare_graph_keeps_the_names_calibration_is_keyed_by():
    graph = load_onnx(torch_style_model())
    prepared = prepare_graph(graph)
    assert prepared is not graph and graph.ops_of(ops.Erf)  # the user's graph is left alone
    hard_swish = prepared.ops_of(ops.HardSwish)[0]
    assert hard_swish.output.name == "hswish"
    assert prepared.ops_of(ops.Clip)[0].output.name == "relu6"
    assert prepared.ops_of(ops.Gelu)[0].output.name == "y"
    data = np.random.default_rng(1).normal(0, 1.5, (4, 1, 3, 6, 6)).astype(np.float32)
    stats = calibrate_data(graph, {"x": data})
    for name in ("hswish", "relu6", "y"):
        assert stats.get(name) is not None, name
    qgraph, _ = quantize_graph(graph, stats)
    reference = simulate(graph, {"x": data[0]})["y"]
    error = np.abs(simulate(qgraph, {"x": data[0]})["y"] - reference).max()
    assert error < 0.05 * np.abs(reference).max()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_onnx_gelu_imports_as_the_op(approximate):
    node = helper.make_node("Gelu", ["x"], ["y"], approximate=approximate)
    graph = helper.make_graph([node], "gelu", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 7])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [2, 7])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    imported = load_onnx(model)
    assert [type(op) for op in imported.ops] == [ops.Gelu]
    assert imported.ops[0].approximate == approximate
    x = np.linspace(-5, 5, 14, dtype=np.float32).reshape(2, 7)
    if approximate == "tanh":
        reference = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    else:
        reference = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    np.testing.assert_allclose(simulate(imported, {"x": x})["y"], reference, rtol=1e-5,
                               atol=1e-6)
