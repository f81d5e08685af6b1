"""Wrapping and in-place concatenation, each on a model that only works if the kernels
really address the shared memory the way the planner assumed -- and the controls:
the same plans with the kernel's access order or output strides disabled, or a
wrap margin one output row short, give wrong results (and the checker rejects the
short margin, down to one byte)."""

from __future__ import annotations

import numpy as np
import pytest

from cpp_memory_kit import (POISONS, compile_build, ort_outputs, random_feeds, realised,
                            require_compiler, run_poisoned)
from n2d2c.backends.c import buffers as c_buffers
from n2d2c.backends.c import memory as c_memory
from n2d2c.backends.c.buffers import ArenaPlacement, Region
from n2d2c.backends.cpp import emitter as cpp_emitter
from n2d2c.errors import InternalError
from n2d2c.examples.onnx_builder import OnnxBuilder
from n2d2c.frontend.onnx import load_onnx
from n2d2c.passes import Pipeline
from n2d2c.passes.memory import (Buffer, MemoryOptions, MemoryPlan, MemoryProblem,
                                 PlanCheckError, check_plan)


def wrap_chain():
    """Every wrap-capable kernel, each writing over the input rows it no longer reads."""
    b = OnnxBuilder("wrap_chain", (1, 8, 16, 16), seed=11)
    x = b.relu(b.conv(b.input, 16, 3))                 # padded direct conv (copy wraps input)
    x = b.conv(x, 32, 1, pad=0)                        # 1x1 direct conv, 4+ channel blocks
    x = b.relu(b.conv(x, 32, 3, stride=2, group=32))   # depthwise, stride 2
    x = b.maxpool(x, 3, 1, pad=1)                      # pooling
    x = b.avgpool(x, 2, 2)
    return b.model(x)


def concat_net():
    """Concat inputs produced by every kind of in-place producer, a nested concat, and a
    graph input (which has to be copied)."""
    b = OnnxBuilder("concat_in_place", (1, 8, 8, 8), seed=12)
    x = b.input
    a = b.relu(b.conv(x, 8, 1, pad=0))                 # direct 1x1, fused ReLU
    c = b.conv(x, 12, 3)                               # padded direct conv
    d = b.conv(x, 8, 3, group=8)                       # depthwise
    e = b.maxpool(x, 3, 1, pad=1)                      # pooling
    f = b.add(b.conv(x, 4, 1, pad=0), b.conv(x, 4, 1, pad=0))   # element-wise map
    inner = b.concat([a, c, d])
    outer = b.concat([inner, e, f, x])
    return b.model(b.conv(outer, 16, 3))


WRAP = wrap_chain()
CONCAT = concat_net()


def _mismatch(got, ref) -> float:
    return float(np.max(np.abs(np.asarray(got[0]) - np.asarray(ref[0]))))


# -- wrapping -----------------------------------------------------------------------

def test_wrap_chain_realises_every_wrap():
    graph = load_onnx(WRAP)
    memory = c_memory.plan_graph(graph, MemoryOptions())
    wraps = {(s.buffer, s.target) for s in memory.plan.shared if s.kind == "wrap"}
    offsets = memory.plan.offsets
    for out, src in wraps:  # realised: the bytes really overlap
        size = {b.name: b.size for b in memory.problem.buffers}
        assert max(offsets[out], offsets[src]) < min(offsets[out] + size[out],
                                                     offsets[src] + size[src])
    assert {"pool2d", "conv2d_direct:copy", "depthwise_conv2d",
            "conv2d_direct"} <= realised(graph, MemoryOptions())["wrap"]
    assert len(wraps) == 5
    # The padded copy of the first convolution overwrites input rows it has copied: that
    # call renders its row-ordered, restrict-free variant although its output does not
    # overlap anything it reads.
    e = memory.emitter
    e.render_layers()
    (conv0,) = [(layer, code) for layer, code in e.layer_code if layer.name == "conv0"]
    assert ("conv0__padded", "input") in wraps
    assert e.call_aliases(conv0[0].calls[0])
    assert "float* xp" in conv0[1] and "__restrict__" not in conv0[1]
    assert "n2d2c_conv_row_tile<" in conv0[1] and "n2d2c_conv_chunk<" not in conv0[1]


def test_wrapped_kernels_match_onnxruntime_and_fail_in_channel_order(tmp_path, monkeypatch):
    require_compiler()
    graph = load_onnx(WRAP)
    feeds = random_feeds(graph, seed=3)
    ref = ort_outputs(WRAP, feeds)
    good = compile_build(graph, tmp_path / "good")
    for poison in (None, *POISONS):
        got = run_poisoned(good, feeds, poison)
        np.testing.assert_allclose(got[0], ref[0], rtol=1e-4, atol=1e-5)
    assert "n2d2c_conv_row_tile<" in (good / "network.cpp").read_text()
    # Control: same plan, but the kernels keep their usual order (channel blocks outer,
    # pixel chunks inner) although the output overlaps the input: wrong results.
    monkeypatch.setattr(cpp_emitter.CppEmitter, "call_aliases", lambda self, call: False)
    bad = compile_build(graph, tmp_path / "bad")
    assert "n2d2c_conv_row_tile<" not in (bad / "network.cpp").read_text()
    assert _mismatch(run_poisoned(bad, feeds, None, threads=1), ref) > 1e-2


def _pool_net():
    b = OnnxBuilder("pool", (1, 4, 8, 8), seed=5)
    return b.model(b.avgpool(b.input, 3, 1, pad=1))


def _shifted_place(rows_short: int):
    """PlannedBuffers.place, then the wrapped output moved ``rows_short`` output rows closer
    to its input than the margin allows (0: exactly at the margin)."""
    original = c_memory.PlannedBuffers.place

    def place(self, requests):
        placement = original(self, requests)
        (y,) = [r for r in requests if r.wrap is not None]
        x = next(r for r in requests if r.name == y.wrap.of)
        distance = y.wrap.margin - rows_short * y.wrap.row_bytes_out
        regions = dict(placement.regions)
        regions[y.name], regions[x.name] = Region(0, y.nbytes), Region(distance, x.nbytes)
        size = max(r.end for r in regions.values())
        return ArenaPlacement(regions, size, placement.alignment, plan=placement.plan,
                              problem=placement.problem)
    return place


def test_wrap_margin_is_tight_in_the_generated_code(tmp_path, monkeypatch):
    require_compiler()
    model = _pool_net()
    graph = load_onnx(model)
    feeds = random_feeds(graph, seed=4)
    ref = ort_outputs(model, feeds)
    # exactly at the margin: accepted by the checker, and right with garbage around
    monkeypatch.setattr(c_memory.PlannedBuffers, "place", _shifted_place(0))
    out = compile_build(graph, tmp_path / "at_margin")
    for poison in (None, *POISONS):
        np.testing.assert_allclose(run_poisoned(out, feeds, poison)[0], ref[0], rtol=1e-5,
                                   atol=1e-6)
    # one output row short: the checker refuses the plan ...
    monkeypatch.setattr(c_memory.PlannedBuffers, "place", _shifted_place(1))
    with pytest.raises(InternalError, match="wraps .* unsafely"):
        compile_build(graph, tmp_path / "refused")
    # ... and with the check bypassed, the generated code computes wrong values
    monkeypatch.setattr(c_buffers.ArenaPlacement, "check", lambda self, requests: None)
    out = compile_build(graph, tmp_path / "short")
    assert _mismatch(run_poisoned(out, feeds, None, threads=1), ref) > 1e-2


def test_checker_rejects_the_margin_minus_one_byte():
    graph = load_onnx(_pool_net())
    requests = c_memory.plan_graph(graph).emitter.requests
    (y,) = [r for r in requests if r.wrap is not None]
    x = next(r for r in requests if r.name == y.wrap.of)
    problem = MemoryProblem((Buffer(x.name, x.nbytes, x.first, x.last),
                             Buffer(y.name, y.nbytes, y.first, y.last, wrap=y.wrap)))
    margin = y.wrap.margin
    assert margin == 2 * y.wrap.row_bytes_out  # 3x3, stride 1, pad 1: two rows ahead
    for distance, ok in ((margin, True), (margin + 1, True), (margin - 1, False)):
        plan = MemoryPlan({y.name: 0, x.name: distance}, distance + x.nbytes, "manual", 0)
        if ok:
            check_plan(problem, plan)
        else:
            with pytest.raises(PlanCheckError, match="unsafely"):
                check_plan(problem, plan)


# -- in-place concatenation ---------------------------------------------------------

def test_concat_inputs_are_strided_views_of_the_concat_buffer():
    graph = load_onnx(CONCAT)
    Pipeline.parse("plan-memory").run(graph)  # canonicalises first: relu0 fused into conv0
    values = {v.name: v for v in graph.values()}
    outer = values["concat1"].placement
    assert outer.strides == (0, 1, 8 * 48, 48)   # NHWC, 48 channels
    expected = {"conv0": 0, "conv1": 8, "conv2": 20, "maxpool0": 28, "add0": 36}
    for name, channel in expected.items():
        placement = values[name].placement
        assert placement.strides == outer.strides, name
        assert placement.offset == outer.offset + 4 * channel, name
    assert values["concat0"].placement.offset == outer.offset  # nested: a slice too
    layers = c_memory.plan_graph(load_onnx(CONCAT)).emitter.program.layers
    comments = [layer.comment for layer in layers if layer.name.startswith("concat")]
    assert any("3 of 3 inputs written in place" in c for c in comments)
    assert any("3 of 4 inputs written in place" in c for c in comments)  # the input is copied


def test_concat_in_place_matches_and_fails_with_dense_output_strides(tmp_path, monkeypatch):
    require_compiler()
    graph = load_onnx(CONCAT)
    feeds = random_feeds(graph, seed=5)
    ref = ort_outputs(CONCAT, feeds)
    good = compile_build(graph, tmp_path / "good")
    for poison in (None, *POISONS):
        np.testing.assert_allclose(run_poisoned(good, feeds, poison)[0], ref[0], rtol=1e-4,
                                   atol=1e-5)
    # Without in-place concatenation the result is the same (copies instead).
    plain = compile_build(graph, tmp_path / "copies",
                          memory=MemoryOptions(OptimizeNoBranchConcat=False))
    np.testing.assert_allclose(run_poisoned(plain, feeds, "0xCD")[0], ref[0], rtol=1e-4,
                               atol=1e-5)
    # Control: the direct convolution ignores its output's pixel stride (writes as if its
    # output were a dense tensor of its own): wrong results.
    monkeypatch.setattr(cpp_emitter, "_pixel_stride", lambda view: view.shape[1])
    bad = compile_build(graph, tmp_path / "bad")
    assert _mismatch(run_poisoned(bad, feeds, None), ref) > 1e-2
