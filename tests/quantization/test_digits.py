"""The trained digits CNN: int8 accuracy stays within a point of float in every
rescaling and clipping mode, and the quantized IR has the promised shape."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from n2d2c.ir import ops as O
from n2d2c.ir import parse_graph, print_graph, verify
from n2d2c.ir.types import DType
from n2d2c.passes import Pipeline
from n2d2c.quantization import (QuantizationWarning, calibrate_data, evaluate_classifier,
                                quantize_graph, value_scales)
from quant_models import DIGITS_CALIB, digits_arrays, digits_graph

RESCALING = ["Floating-point", "Fixed-point16", "Fixed-point32", "Single-shift", "Double-shift"]
CLIPPING = ["None", "MSE", "KL-Divergence", "Quantile"]


@pytest.fixture(scope="module")
def digits():
    graph = digits_graph()
    x, y, calib = digits_arrays()
    stats = calibrate_data(graph, calib)
    float_accuracy = evaluate_classifier(graph, x, y).accuracy
    assert float_accuracy > 0.95
    return graph, stats, x, y, float_accuracy


def _accuracy(graph, stats, x, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)  # the digits net needs no fallback
        qgraph, report = quantize_graph(graph, stats, options)
    verify(qgraph)
    return evaluate_classifier(qgraph, x, y).accuracy, qgraph, report


@pytest.mark.parametrize("clipping", CLIPPING)
@pytest.mark.parametrize("mode", RESCALING)
def test_every_rescaling_and_clipping_mode_keeps_accuracy(digits, mode, clipping):
    graph, stats, x, y, float_accuracy = digits
    accuracy, qgraph, report = _accuracy(graph, stats, x, y, act_rescaling_mode=mode,
                                         act_clipping_mode=clipping)
    assert accuracy >= float_accuracy - 0.01, (mode, clipping, accuracy, float_accuracy)
    ir_mode = mode.lower()
    rescales = qgraph.ops_of(O.Rescale)
    assert len(rescales) == 3 and all(r.mode == ir_mode for r in rescales)
    for row in report.layers:
        assert row.rescaling == ir_mode and not row.fallback
        assert row.clipping == clipping
        assert 0 < row.threshold <= row.max_abs * 1.03  # a kept shift may widen by <= 2%


@pytest.mark.parametrize("options", [
    {"wt_per_channel": True}, {"act_rescale_per_output": True, "act_rescaling_mode": "Double-shift"},
    {"nbbits": 16}, {"wt_nbbits": 4, "wt_per_channel": True}, {"no_unsigned": True},
    {"wt_clipping_mode": "MSE"}, {"wt_clipping_mode": "KL-Divergence"}])
def test_other_options(digits, options):
    graph, stats, x, y, float_accuracy = digits
    accuracy, qgraph, report = _accuracy(graph, stats, x, y, **options)
    slack = 0.02 if options.get("wt_nbbits") == 4 else 0.01
    assert accuracy >= float_accuracy - slack, (options, accuracy)
    types = {v.type.dtype for v in qgraph.values()}
    if options.get("nbbits") == 16:
        assert DType.I16 in types and DType.I64 in types and DType.U8 not in types
    if options.get("no_unsigned"):
        assert DType.U8 not in types
    else:
        assert DType.U8 in types or options.get("nbbits") == 16
    if options.get("wt_nbbits") == 4:
        for conv in qgraph.ops_of(O.Conv2d):
            assert np.abs(qgraph.constant_value(conv.inputs[1])).max() <= 7


def test_integer_pipeline_shape(digits):
    """float input -> quantize -> integer layers with explicit rescale -> an integer
    softmax with the float32 result the model declares (no dequantize, no float op);
    textual IR (the softmax's exp table a constant) round-trips exactly."""
    graph = digits[0]
    qgraph, report = quantize_graph(graph, digits_arrays()[2], calib=64, sqnr_samples=16)
    assert report.calibration_samples == 64 and report.sqnr_samples == 16
    kinds = [op.OP_NAME for op in qgraph.ops if not isinstance(op, O.Constant)]
    assert kinds == ["quantize", "conv2d", "rescale", "conv2d", "rescale", "max_pool2d",
                     "reshape", "gemm", "rescale", "int_softmax"]
    assert qgraph.outputs[0].type.dtype is DType.F32
    assert qgraph.inputs[0].type.dtype is DType.F32
    assert [v.name for v in qgraph.outputs] == ["output"]
    for conv in qgraph.ops_of(O.Conv2d, O.Gemm):
        assert conv.output.type.dtype is DType.I32
        assert conv.inputs[1].type.dtype is DType.I8
        assert conv.inputs[2].type.dtype is DType.I32
    relu_rescales = qgraph.ops_of(O.Rescale)[:2]
    assert all(r.dtype == "u8" and r.out_min == (0,) for r in relu_rescales)
    resources: dict = {}
    text = print_graph(qgraph, resources=resources)
    again = parse_graph(text, resources=resources)
    verify(again)
    assert print_graph(again, resources={}) == print_graph(qgraph, resources={})
    x, *_ = digits_arrays()
    from n2d2c.runtime import simulate
    a = simulate(qgraph, {"input": x[:1]})["output"]
    b = simulate(again, {"input": x[:1]})["output"]
    np.testing.assert_array_equal(a, b)
    assert "SQNR" in report.table() and report.output_sqnr_db["output"] > 30


def test_quantize_pass_in_a_pipeline():
    graph = digits_graph()  # the pass rewrites it in place
    pipeline = Pipeline.parse(f'quantize{{calib-data="{DIGITS_CALIB}",calib=64,'
                              'act-clipping-mode=KL-Divergence,act-rescaling-mode=Double-shift}')
    report = pipeline.run(graph)
    result = report.result("quantize")
    assert result.statistics["layers"] == 3 and result.quantization.calibration_samples == 64
    assert "KL-Divergence" in result.report
    assert graph.ops_of(O.Quantize) and graph.ops_of(O.Rescale)
    x, y, _ = digits_arrays()
    assert evaluate_classifier(graph, x, y).accuracy > 0.95


@pytest.mark.parametrize("options", [{"act_rescaling_mode": "Single-shift"},
                                     {"act_rescaling_mode": "Double-shift", "wt_per_channel": True}])
def test_value_scales_recover_real_values(digits, options):
    """Exporters get each integer tensor's real scale from the graph alone."""
    graph, stats, x, *_ = digits
    qgraph, _ = quantize_graph(graph, stats, options)
    scales = value_scales(qgraph)
    integer = [v for v in qgraph.values() if v.type.dtype.is_integer]
    assert all(v.name in scales for v in integer)
    for conv in qgraph.ops_of(O.Conv2d, O.Gemm):
        float_op = graph.find_op(conv.name)
        want = graph.constant_value(float_op.inputs[1])
        entry = scales[conv.inputs[1].name]
        shape = [1] * want.ndim
        shape[entry.axis] = -1
        real = qgraph.constant_value(conv.inputs[1]) * np.reshape(entry.scales, shape)
        step = np.max(entry.scales)
        assert np.max(np.abs(real - want)) <= 0.5 * step + 1e-7
    # integer activations map back onto the float network's
    from n2d2c.quantization import ValueRunner
    names = [r.output.name for r in qgraph.ops_of(O.Rescale)]
    got = ValueRunner(qgraph, [v for v in qgraph.values() if v.name in names]).run(
        {"input": x[:1]})
    want = ValueRunner(graph, [v for v in graph.values() if v.name in names]).run(
        {"input": x[:1]})
    assert set(got) == set(want) == set(names)
    for name in names:
        real = got[name] * scales[name].scales[0]
        assert np.max(np.abs(real - want[name])) <= 0.05 * np.abs(want[name]).max() + 1e-6
