"""Every IR op maps to a TensorRT layer or an n2d2c plugin, or is refused by name; what
cannot be mapped is one error listing every node; the batch is carried when it can be."""

from __future__ import annotations

import json

import numpy as np
import pytest

import n2d2c
from n2d2c.passes.batch_axes import BatchAxes
from n2d2c.backends.tensorrt.coverage import PLUGIN_UNARY, coverage
from n2d2c.backends.tensorrt.layers import HANDLERS
from n2d2c.errors import UnsupportedError
from n2d2c.ir import parse_graph
from n2d2c.ir.ops import OPS

from .cases import REFUSED_CASES, families, prepared


def test_every_op_is_mapped_or_refused():
    table = coverage()
    assert set(table) == set(OPS), sorted(set(OPS) ^ set(table))
    for name, how in table.items():
        assert (name in HANDLERS) == (how != "refused"), name
    assert {n for n, how in table.items() if how == "plugin"} == set(PLUGIN_UNARY)


def test_each_refused_case_is_refused_with_its_reason(tmp_path):
    cases = {c.name: c for cases in families().values() for c in cases}
    for name, reason in REFUSED_CASES.items():
        with pytest.raises(UnsupportedError, match=reason):
            n2d2c.compile(prepared(cases[name]), tmp_path / name, backend="tensorrt", passes="")
        assert not (tmp_path / name).exists()


def test_unsupported_nodes_are_listed_in_one_error(tmp_path):
    graph = parse_graph("""
graph @g(%x: tensor<1x2x4x4xf32>) {
  %p, %i = max_pool2d_with_indices(%x) {kernel = [2, 2], strides = [2, 2]} : tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64> loc("pool")
  %u = max_unpool2d(%p, %i) {kernel = [2, 2], strides = [2, 2]} : tensor<1x2x4x4xf32> loc("unpool")
  %y = max_pool2d(%u) {kernel = [2, 2], strides = [2, 2], dilations = [2, 2]} : tensor<1x2x1x1xf32> loc("dilated")
  return %y
}""")
    with pytest.raises(UnsupportedError) as info:
        n2d2c.compile(graph, tmp_path / "out", backend="tensorrt", passes="")
    text = str(info.value)
    assert "'pool' (max_pool2d_with_indices)" in text and "'unpool' (max_unpool2d)" in text


def test_a_quantized_graph_is_refused_naming_its_integer_ops(tmp_path):
    from n2d2c.quantization import quantize_graph
    from .test_project import FIXTURES
    graph = n2d2c.load(FIXTURES / "digits_cnn.onnx")
    calib = np.load(FIXTURES / "digits_calib.npz")["x"][:16]
    qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8})
    with pytest.raises(UnsupportedError, match=r"\(quantize\): an op of the quantized"):
        n2d2c.compile(qgraph, tmp_path / "q", backend="tensorrt", passes="")


def test_mish_uses_the_plugin(tmp_path):
    graph = parse_graph("""
graph @g(%x: tensor<1x3x4x4xf32>) {
  %y = mish(%x) : tensor<1x3x4x4xf32> loc("act")
  return %y
}""")
    n2d2c.compile(graph, tmp_path / "m", backend="tensorrt", passes="")
    network = (tmp_path / "m" / "src" / "network.cpp").read_text()
    assert 'b.plugin(t[0], kUnaryPlugin, 0, "act")' in network
    assert json.loads((tmp_path / "m" / "network.json").read_text())["plugins"] == ["mish"]


def test_batch_axis_is_carried_or_the_reason_given():
    batched = parse_graph("""
graph @g(%x: tensor<1x3x4x4xf32>) {
  %r = relu(%x) : tensor<1x3x4x4xf32>
  %f = reshape(%r) {shape = [1, 48]} : tensor<1x48xf32>
  %s = softmax(%f) {axis = 1} : tensor<1x48xf32>
  return %s
}""")
    axes = BatchAxes(batched)
    assert axes.batchable and all(axes.is_batched(v) for v in batched.values())
    flat = parse_graph("""
graph @g(%x: tensor<1x3x4x4xf32>) {
  %f = reshape(%x) {shape = [48]} : tensor<48xf32>
  return %f
}""")
    axes = BatchAxes(flat)
    assert not axes.batchable and "changes axis 0" in axes.note
    mixed = parse_graph("""
graph @g(%x: tensor<1x3x4x4xf32>) {
  %s = softmax(%x) {axis = 0} : tensor<1x3x4x4xf32> loc("sm")
  return %s
}""")
    assert "'sm' (softmax) works along axis 0" in BatchAxes(mixed).note


def test_constant_negative_gather_indices_are_wrapped(tmp_path):
    graph = parse_graph("""
graph @g(%x: tensor<1x5xf32>) {
  %i = constant dense<[-1, 0, -5]> : tensor<3xi64>
  %y = gather(%x, %i) {axis = 1} : tensor<1x3xf32> loc("pick")
  return %y
}""")
    n2d2c.compile(graph, tmp_path / "g", backend="tensorrt", passes="", stimuli=0)
    network = (tmp_path / "g" / "src" / "network.cpp").read_text()
    file = network.split('b.gather(t[0], b.constant("')[1].split('"')[0]
    np.testing.assert_array_equal(np.fromfile(tmp_path / "g" / "weights" / file, np.int64),
                                  [4, 0, 0])
