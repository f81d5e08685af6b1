"""Edge cases: shifts that cannot represent a scale, dead channels, constant
activations, tiny calibration sets, mixed-sign concat, float islands, reload."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from n2d2c.errors import InputError, ShapeError, UsageError
from n2d2c.ir import DType, Graph, TensorType, verify
from n2d2c.ir import ops as O
from n2d2c.passes import Pipeline
from n2d2c.quantization import (CalibrationStats, QuantizationWarning, calibrate_data,
                                evaluate_classifier, quantize_graph)
from n2d2c.runtime import simulate
from quant_models import digits_arrays, digits_graph, smooth_images


def _cancelling_gemm(noise=1e-3):
    """out = a - b with a ~ b: the output range is far below one input step."""
    g = Graph("cancel")
    x = g.add_input("input", TensorType((1, 2)))
    w = g.constant(np.array([[1.0, -1.0]], np.float32), "fc.w")
    g.outputs = [g.add(O.Gemm(trans_b=True, name="fc"), [x, w], ["out"]).output]
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 64)
    data = np.stack([a, a + rng.uniform(-noise, noise, 64)], 1).astype(np.float32)
    return g, data


@pytest.mark.parametrize("mode", ["Single-shift", "Fixed-point16", "Double-shift"])
def test_absurd_scale_ratios_warn_instead_of_failing(mode):
    graph, data = _cancelling_gemm(noise=1e-7)   # factor ~ 1e4..1e5
    with pytest.warns(QuantizationWarning, match="layer 'fc'"):
        qgraph, report = quantize_graph(graph, data, act_rescaling_mode=mode)
    verify(qgraph)
    assert np.all(np.isfinite(simulate(qgraph, {"input": data[:1]})["out"]))


@pytest.mark.parametrize("mode", ["Single-shift", "Double-shift"])
def test_scale_above_one_falls_back_to_fixed_point_with_a_warning(mode):
    graph, data = _cancelling_gemm()
    with pytest.warns(QuantizationWarning, match=r"layer 'fc': scaling factor .* > 1") as record:
        qgraph, report = quantize_graph(graph, data, act_rescaling_mode=mode)
    assert "fixed-point16" in str(record[0].message) and mode.lower() in str(record[0].message)
    (rescale,) = qgraph.ops_of(O.Rescale)
    assert rescale.mode == "fixed-point16" and rescale.multipliers[0] <= 32767
    row = report.layer("fc")
    assert row.fallback and row.rescaling == "fixed-point16"
    assert "* fc:" in report.table()
    out = simulate(qgraph, {"input": data[:1]})["out"]
    assert np.all(np.isfinite(out))
    # a mode that can represent it needs no fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)
        quantize_graph(graph, data, act_rescaling_mode="Fixed-point32")


def _conv_graph(weights, bias, relu=True):
    g = Graph("c")
    x = g.add_input("input", TensorType((1, weights.shape[1], 4, 4)))
    w = g.constant(weights.astype(np.float32), "conv.w")
    b = g.constant(bias.astype(np.float32), "conv.b")
    y = g.add(O.Conv2d(name="conv", activation="relu" if relu else "none"), [x, w, b],
              ["y"]).output
    g.outputs = [y]
    return g


@pytest.mark.parametrize("per_channel", [False, True])
def test_all_zero_channel(per_channel):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 1, 1))
    b = rng.standard_normal(3) * 0.1
    w[1] = 0.0
    b[1] = 0.0
    graph = _conv_graph(w, b, relu=False)
    data = rng.standard_normal((16, 2, 4, 4)).astype(np.float32)
    qgraph, report = quantize_graph(graph, data, wt_per_channel=per_channel,
                                    act_rescaling_mode="Double-shift")
    got = simulate(qgraph, {"input": data[:1]})["y"]
    want = simulate(graph, {"input": data[:1]})["y"]
    assert np.all(got[0, 1] == 0.0)
    np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())


def test_constant_and_all_zero_activations():
    # a layer whose output is always 0 (relu of a negative constant) and a constant input
    w = np.zeros((2, 1, 1, 1))
    graph = _conv_graph(w, np.array([-1.0, -2.0]))
    data = np.full((4, 1, 4, 4), 0.5, np.float32)
    qgraph, report = quantize_graph(graph, data)
    assert np.all(simulate(qgraph, {"input": data[:1]})["y"] == 0.0)
    # a constant non-zero output is reproduced
    graph = _conv_graph(np.ones((1, 1, 1, 1)), np.array([0.0]))
    qgraph, report = quantize_graph(graph, data)
    np.testing.assert_allclose(simulate(qgraph, {"input": data[:1]})["y"], 0.5, rtol=1e-2)
    assert report.output_sqnr_db["y"] > 40


def test_single_sample_calibration_works():
    x, y, calib = digits_arrays()
    qgraph, report = quantize_graph(digits_graph(), calib, calib=1)
    assert report.calibration_samples == 1
    assert evaluate_classifier(qgraph, x, y).accuracy > 0.9


def test_clear_errors_for_bad_calibration_input(tmp_path):
    graph = digits_graph()
    with pytest.raises(ShapeError, match="expected \\[N, 1, 8, 8\\]"):
        quantize_graph(graph, np.zeros((4, 3, 8, 8), np.float32))
    with pytest.raises(ShapeError):
        quantize_graph(graph, np.zeros((0, 1, 8, 8), np.float32))
    with pytest.raises(InputError, match="does not exist"):
        quantize_graph(graph, tmp_path / "missing.npz")
    np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(InputError, match="name the samples 'x'"):
        quantize_graph(graph, tmp_path / "two.npz")
    with pytest.raises(UsageError, match="calib"):
        quantize_graph(graph, np.zeros((4, 1, 8, 8), np.float32), calib=0)
    with pytest.raises(UsageError, match="rescaling mode"):
        quantize_graph(graph, np.zeros((4, 1, 8, 8), np.float32), act_rescaling_mode="Fixed")
    with pytest.raises(UsageError, match="calib-data"):
        Pipeline.parse("quantize").run(graph)
    with pytest.raises(UsageError, match="nbbits"):
        Pipeline.parse("quantize{nbbits=1}")


def test_concat_of_signed_and_unsigned_branches_shares_one_scale():
    rng = np.random.default_rng(3)
    g = Graph("cat")
    x = g.add_input("input", TensorType((1, 3, 8, 8)))
    branches = []
    for i, relu in enumerate([True, False, True]):
        w = g.constant((rng.standard_normal((4, 3, 3, 3)) * (0.2 + i)).astype(np.float32), f"c{i}.w")
        y = g.add(O.Conv2d(pads=(1, 1, 1, 1), name=f"c{i}"), [x, w], [f"c{i}"]).output
        if relu:
            y = g.add(O.Relu(name=f"r{i}"), [y], [f"r{i}"]).output
        branches.append(y)
    # the first branch is also pooled: read twice, it cannot simply be produced at the
    # concat's scale, so it (and the pooled copy) get a rescale
    pooled = g.add(O.MaxPool2d(kernel=(3, 3), pads=(1, 1, 1, 1), name="pool"), [branches[0]],
                   ["pool"]).output
    cat = g.add(O.Concat(axis=1, name="cat"), branches + [pooled], ["cat"]).output
    g.outputs = [g.add(O.GlobalAvgPool(name="gap"), [cat], ["out"]).output]
    data = smooth_images(16, (3, 8, 8))
    qgraph, report = quantize_graph(g, data, act_rescaling_mode="Fixed-point32")
    (concat,) = qgraph.ops_of(O.Concat)
    assert concat.output.type.dtype is DType.I8           # one signed branch: all signed
    scales = set()
    for operand in concat.inputs:
        producer = operand.producer
        assert isinstance(producer, O.Rescale)              # produced at, or moved to, the scale
        scales.add(producer.output_scale)
    assert len(scales) == 1
    assert report.requantizations == 2
    assert sum(op.name.endswith(".requantize") for op in qgraph.ops_of(O.Rescale)) == 2
    assert report.output_sqnr_db["out"] > 30


def test_unary_float_op_between_integer_layers_is_a_table():
    """A sigmoid between two 8-bit layers is no float island any more: a lookup of its 256
    results (quantization/lookup.py), unsigned since a sigmoid is never negative."""
    rng = np.random.default_rng(5)
    g = Graph("mixed")
    x = g.add_input("input", TensorType((1, 2, 6, 6)))
    w1 = g.constant(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "c1.w")
    y = g.add(O.Conv2d(pads=(1, 1, 1, 1), name="c1"), [x, w1], ["c1"]).output
    y = g.add(O.Sigmoid(name="sig"), [y], ["sig"]).output
    w2 = g.constant(rng.standard_normal((3, 4, 1, 1)).astype(np.float32), "c2.w")
    y = g.add(O.Conv2d(name="c2", activation="relu"), [y, w2], ["c2"]).output
    g.outputs = [y]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", QuantizationWarning)
        qgraph, report = quantize_graph(g, rng.standard_normal((16, 2, 6, 6)).astype(np.float32))
    assert not [w for w in record if "no integer kernel" in str(w.message)]
    kinds = [op.OP_NAME for op in qgraph.ops if not isinstance(op, O.Constant)]
    assert kinds == ["quantize", "conv2d", "rescale", "lookup", "conv2d", "rescale",
                     "dequantize"]
    assert report.float_ops == []
    (table,) = qgraph.ops_of(O.Lookup)
    assert table.output.type.dtype.value == "u8"     # a sigmoid is never negative
    assert report.output_sqnr_db["c2"] > 25


def test_calib_reload_reuses_matching_statistics(tmp_path, monkeypatch):
    graph = digits_graph()
    _, _, calib = digits_arrays()
    path = tmp_path / "stats.npz"
    first, report1 = quantize_graph(graph, calib[:32], calib_reload=str(path))
    assert path.exists()
    loaded = CalibrationStats.load(path)
    assert loaded.samples == 32 and len(loaded.values) >= 8

    import n2d2c.quantization.calibration as calibration
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: pytest.fail("recalibrated"))
    second, report2 = quantize_graph(graph, calib[:32], calib_reload=str(path))
    assert [r.threshold for r in report1.layers] == [r.threshold for r in report2.layers]
    monkeypatch.undo()

    # another graph (changed weights): a warning, then fresh statistics are written
    changed = digits_graph()
    conv = changed.ops_of(O.Conv2d)[0]
    weights = changed.constant_value(conv.inputs[1]) * 2
    changed.set_operand(conv, 1, changed.constant(weights, "w2", before=conv))
    with pytest.warns(UserWarning, match="recalibrating"):
        quantize_graph(changed, calib[:32], calib_reload=str(path))
    assert CalibrationStats.load(path).fingerprint != loaded.fingerprint


def test_statistics_object_can_be_shared():
    graph = digits_graph()
    x, y, calib = digits_arrays()
    stats = calibrate_data(graph, calib[:64])
    a, _ = quantize_graph(graph, stats, act_rescaling_mode="Fixed-point16")
    b, _ = quantize_graph(graph, stats, act_rescaling_mode="Fixed-point16")
    verify(a)
    np.testing.assert_array_equal(simulate(a, {"input": x[:1]})["output"],
                                  simulate(b, {"input": x[:1]})["output"])


def test_bool_and_integer_values_between_integer_layers_keep_their_type():
    """A mask (Greater -> Where) and an ArgMax -> Cast between two convolutions: the bool
    and int64 values stay what they are, the float ops around them stay float (named in
    the one warning), and the quantized graph still matches the float one roughly."""
    rng = np.random.default_rng(6)
    g = Graph("masked")
    x = g.add_input("input", TensorType((1, 2, 6, 6)))
    w1 = g.constant(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "c1.w")
    y = g.add(O.Conv2d(pads=(1, 1, 1, 1), name="c1"), [x, w1], ["c1"]).output
    zero = g.constant(np.zeros((), np.float32), "zero")
    floor = g.constant(np.full((), -0.5, np.float32), "floor")
    mask = g.add(O.Greater(name="gt"), [y, zero], ["gt"]).output
    y = g.add(O.Where(name="sel"), [mask, y, floor], ["sel"]).output
    index = g.add(O.ArgMax(axis=1, name="am"), [y], ["am"]).output
    index = g.add(O.Cast(dtype="f32", name="am_f"), [index], ["am_f"]).output
    y = g.add(O.Add(name="plus"), [y, index], ["plus"]).output
    w2 = g.constant(rng.standard_normal((3, 4, 1, 1)).astype(np.float32), "c2.w")
    g.outputs = [g.add(O.Conv2d(name="c2"), [y, w2], ["c2"]).output]
    data = rng.standard_normal((16, 2, 6, 6)).astype(np.float32)
    with pytest.warns(QuantizationWarning) as record:
        qgraph, report = quantize_graph(g, data)
    verify(qgraph)
    (warning,) = [str(w.message) for w in record if "no integer kernel" in str(w.message)]
    assert "sel (where)" in warning and "gt (greater)" in warning
    types = {v.name: v.type.dtype for op in qgraph.ops for v in op.outputs}
    assert types["gt"] is DType.BOOL and types["am"] is DType.I64
    assert types["sel"] is DType.F32 and types["am_f"] is DType.F32
    assert types["c1"] is not DType.F32           # the convolutions are integer
    want = simulate(g, {"input": data[:1]})["c2"]
    got = simulate(qgraph, {"input": data[:1]})["c2"]
    assert np.abs(got - want).max() < 0.2 * np.abs(want).max()
