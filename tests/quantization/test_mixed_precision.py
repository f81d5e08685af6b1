"""Mixed precision per layer (--keep-float, --nbbits-layer), the per-layer weight-scale
choice of the flags, and the report's worst layer on a model built to have one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from n2d2c.cli.parser import build_parser
from n2d2c.cli.quantize import options_from_args
from n2d2c.errors import UsageError
from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.quantization import QuantizationOptions, QuantizationWarning, quantize_graph


def _cancelling_chain():
    """fc1 (2 -> 2, well conditioned) -> cancel (a - b with a ~ b: the result is far
    below one step of its 8-bit operands, so it loses almost everything) -> fc3."""
    g = Graph("chain")
    x = g.add_input("input", TensorType((1, 2)))
    w1 = g.constant(np.array([[1.0, 0.1], [0.1, 1.0]], np.float32), "fc1.w")
    w2 = g.constant(np.array([[1.0, -1.0]], np.float32), "cancel.w")
    w3 = g.constant(np.array([[2.0]], np.float32), "fc3.w")
    h = g.add(O.Gemm(trans_b=True, name="fc1"), [x, w1], ["h"]).output
    d = g.add(O.Gemm(trans_b=True, name="cancel"), [h, w2], ["d"]).output
    g.outputs = [g.add(O.Gemm(trans_b=True, name="fc3"), [d, w3], ["out"]).output]
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 64)
    data = np.stack([a, a + rng.uniform(-0.02, 0.02, 64)], 1).astype(np.float32)
    return g, data


def _quantize(graph, data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        return quantize_graph(graph, data, **options)


def _float_gemms(qgraph) -> int:
    """Gemm ops with float operands in the textual IR (integer ones read i8/i16)."""
    return sum(1 for line in str(qgraph).splitlines()
               if "gemm(" in line and "f32" in line.split("gemm(")[1])


def test_report_names_the_worst_layer_and_suggests_more_bits():
    graph, data = _cancelling_chain()
    _, report = _quantize(graph, data)
    worst = report.worst_layer()
    assert worst.row.name == "cancel"
    assert worst.row.sqnr_db == min(r.sqnr_db for r in report.layers)
    text = report.table()
    assert "loses the most: cancel (gemm)" in text
    assert "--nbbits-layer cancel=16 or --keep-float cancel" in text


def test_keep_float_leaves_exactly_that_layer_in_float():
    graph, data = _cancelling_chain()
    plain, _ = _quantize(graph, data)
    kept, report = _quantize(graph, data, keep_float=["cancel"])
    assert _float_gemms(plain) == 0
    assert _float_gemms(kept) == 1
    assert [r.name for r in report.layers] == ["fc1", "fc3"]
    text = str(kept)
    assert text.count("dequantize(") == str(plain).count("dequantize(") + 1
    assert "kept in float (--keep-float): cancel" in report.table()
    assert "no integer kernel" not in " ".join(report.warnings)


def test_nbbits_layer_widens_that_layer_only():
    graph, data = _cancelling_chain()
    qgraph, report = _quantize(graph, data, nbbits_layer={"cancel": 16})
    assert [r.dtype for r in report.layers] == ["i8", "i16", "i8"]
    consts = {op.name: op.value.dtype for op in qgraph.ops if isinstance(op, O.Constant)}
    assert consts["cancel.wq"] == np.int16 and consts["fc1.wq"] == np.int8
    assert QuantizationOptions(nbbits_layer=["cancel=16"]).nbbits_layer == (("cancel", 16),)


@pytest.mark.parametrize("options, message", [
    ({"keep_float": ["cancl"]}, r"--keep-float: no layer named 'cancl'.*did you mean cancel"),
    ({"nbbits_layer": {"nope": 16}}, r"--nbbits-layer: no layer named 'nope'"),
    ({"nbbits_layer": ["cancel=40"]}, r"nbbits-layer 'cancel': bits must lie in 2..16"),
    ({"nbbits_layer": ["cancel"]}, r"nbbits-layer takes LAYER=BITS"),
    ({"keep_float": ["cancel"], "nbbits_layer": ["cancel=16"]}, r"layer 'cancel' is given both"),
])
def test_bad_layer_options_name_the_layer(options, message):
    graph, data = _cancelling_chain()
    with pytest.raises(UsageError, match=message):
        _quantize(graph, data, **options)


def test_nbbits_layer_rejects_a_layer_without_wider_kernels():
    g = Graph("add")
    x = g.add_input("input", TensorType((1, 4)))
    w = g.constant(np.eye(4, dtype=np.float32), "fc.w")
    h = g.add(O.Gemm(trans_b=True, name="fc"), [x, w], ["h"]).output
    g.outputs = [g.add(O.Add(name="sum"), [h, x], ["out"]).output]
    data = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)
    with pytest.raises(UsageError, match=r"--nbbits-layer sum=16: layer 'sum' \(add\)"):
        _quantize(g, data, nbbits_layer={"sum": 16})


def _flags(*argv):
    args = build_parser().parse_args(["quantize", "model.onnx", "--calib-data", "c.npz", *argv])
    return options_from_args(args)


def test_flags_choose_per_channel_or_per_layer_weights_and_layer_precision():
    assert _flags().per_channel_weights and _flags("--wt-per-channel").per_channel_weights
    assert not _flags("--wt-per-layer").per_channel_weights
    opt = _flags("--keep-float", "a", "--keep-float", "b", "--nbbits-layer", "c=16")
    assert opt.keep_float == ("a", "b") and opt.nbbits_layer == (("c", 16),)
    assert QuantizationOptions().act_rescaling_mode == _flags().act_rescaling_mode


def test_the_quantize_pass_takes_the_layer_options(tmp_path):
    from n2d2c.ir import print_graph
    from n2d2c.passes import Pipeline
    graph, data = _cancelling_chain()
    np.save(tmp_path / "calib.npy", data)
    calib = f'calib-data="{tmp_path / "calib.npy"}"'
    kept = graph.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        Pipeline.parse(f'quantize{{{calib},keep-float="cancel"}}').run(kept)
        wide = graph.copy()
        Pipeline.parse(f'quantize{{{calib},nbbits-layer="cancel=16 fc3=16"}}').run(wide)
    assert _float_gemms(kept) == 1
    consts = {op.name: op.value.dtype for op in wide.ops if isinstance(op, O.Constant)}
    assert consts["cancel.wq"] == np.int16 and consts["fc3.wq"] == np.int16
    assert consts["fc1.wq"] == np.int8
    assert "gemm" in print_graph(wide)
    with pytest.raises(UsageError, match="no layer named 'cancl'"):
        Pipeline.parse(f'quantize{{{calib},keep-float="cancl"}}').run(graph.copy())
