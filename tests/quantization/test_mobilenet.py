"""MobileNetV2-like networks with per-tensor int8: cross-layer equalisation
(`equalize-weights`, run before `quantize` in one pipeline) repairs channel ranges
that are 100x apart."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from n2d2c.ir import ops as O
from n2d2c.ir import verify
from n2d2c.passes import Pipeline
from n2d2c.quantization import copy_graph, sqnr_db
from n2d2c.runtime import Simulator
from quant_models import mobilenet_like, smooth_images


def _output_sqnr(float_graph, quantized, x) -> float:
    want_sim, got_sim = Simulator(float_graph), Simulator(quantized)
    name = float_graph.outputs[0].name
    signal = noise = 0.0
    for i in range(len(x)):
        want = want_sim.run({"input": x[i:i + 1]})[name].astype(np.float64)
        got = got_sim.run({"input": x[i:i + 1]})[name].astype(np.float64)
        signal += float(np.sum(want ** 2))
        noise += float(np.sum((want - got) ** 2))
    return sqnr_db(signal, noise)


def _quantize(graph, pipeline: str):
    graph = copy_graph(graph)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = Pipeline.parse(pipeline).run(graph)
    verify(graph)
    return graph, run.result("quantize").quantization, caught


def test_equalization_keeps_per_tensor_int8_above_20db(tmp_path):
    graph = mobilenet_like(seed=0, imbalance=100.0)
    calib = smooth_images(48, (3, 16, 16), seed=1)
    held_out = smooth_images(16, (3, 16, 16), seed=2)
    path = tmp_path / "calib.npz"
    np.savez(path, x=calib)
    # Per-tensor weights pinned: the default is per channel now.
    options = (f'calib-data="{path}",nbbits=8,act-rescaling-mode=Single-shift,'
               'wt-per-channel=false')

    plain, plain_report, _ = _quantize(graph, f"quantize{{{options}}}")
    equalized, eq_report, _ = _quantize(graph, f"equalize-weights,quantize{{{options}}}")
    print("\n--- without equalize-weights ---\n" + plain_report.table())
    print("--- with equalize-weights ---\n" + eq_report.table())

    without = _output_sqnr(graph, plain, held_out)
    with_eq = _output_sqnr(graph, equalized, held_out)
    assert with_eq > 20.0, with_eq
    assert with_eq > without + 10.0, (without, with_eq)
    # the reports agree with the independent measurement
    assert eq_report.output_sqnr_db["logits"] > 20.0
    assert plain_report.output_sqnr_db["logits"] < eq_report.output_sqnr_db["logits"] - 10.0
    # per-tensor weights throughout, depthwise convs included
    for conv in equalized.ops_of(O.Conv2d):
        assert conv.output.type.dtype.value == "i32"
    assert any(op.group > 1 for op in equalized.ops_of(O.Conv2d))
    for rescale in equalized.ops_of(O.Rescale):
        assert len(rescale.shifts) == 1
    # the residual add reads its two operands at one scale (one of them rescaled)
    assert eq_report.requantizations >= 1


def test_zoo_mobilenet_v2_with_relu6_and_equalization():
    """ReLU6 between equalised layers becomes per-channel bounds (relu + min with a
    per-channel constant); the quantizer folds them into per-channel clamps."""
    from n2d2c.examples.zoo import mobilenet_v2
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.quantization import quantize_graph

    graph = load_onnx(mobilenet_v2(size=32, width=0.5, classes=10))
    Pipeline.parse("equalize-weights").run(graph)
    assert graph.ops_of(O.Min)
    calib = smooth_images(8, (3, 32, 32), seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qgraph, report = quantize_graph(graph, calib, act_rescaling_mode="Fixed-point32",
                                        sqnr_samples=4)
    verify(qgraph)
    assert not qgraph.ops_of(O.Min, O.Clip, O.Relu)   # every clamp fused into a rescale
    per_channel = [r for r in qgraph.ops_of(O.Rescale) if len(r.out_max) > 1]
    assert per_channel, "equalised ReLU6 bounds should give per-channel clamps"
    assert not report.float_ops
    assert math.isfinite(report.output_sqnr_db["output"])
    assert report.output_sqnr_db["output"] > 10.0


@pytest.mark.parametrize("mode", ["Fixed-point16", "Double-shift"])
def test_other_modes_on_the_equalized_network(tmp_path, mode):
    graph = mobilenet_like(seed=4, imbalance=100.0)
    path = tmp_path / "calib.npz"
    np.savez(path, x=smooth_images(32, (3, 16, 16), seed=5))
    quantized, report, _ = _quantize(
        graph, f'equalize-weights,quantize{{calib-data="{path}",act-rescaling-mode={mode}}}')
    assert _output_sqnr(graph, quantized, smooth_images(8, (3, 16, 16), seed=6)) > 20.0
