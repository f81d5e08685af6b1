"""Softmax of 8-bit levels in integers (ir/ops/int_softmax.py, quantization/softmax.py):
the exp table and the formula against float64 softmax of the dequantized levels; a
Softmax read by further layers gives u8 probabilities, one that is the model's output a
float32 result; rows too long for the int32 sum and LogSoftmax stay float; the textual
IR (the table a constant) round-trips."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from n2d2c.errors import N2D2CError
from n2d2c.ir import DType, Graph, TensorType, parse_graph, print_graph, verify
from n2d2c.ir import ops as O
from n2d2c.ir.ops.int_softmax import MAX_ROW
from n2d2c.quantization import QuantizationWarning, quantize_graph
from n2d2c.quantization.levels import make_spec
from n2d2c.quantization.softmax import integer_softmax_fits
from n2d2c.runtime import simulate


def _softmax_of_levels(dtype: str, scale: float, rows: np.ndarray, result: str):
    g = Graph("s")
    x = g.add_input("x", TensorType(rows.shape))
    q = g.add(O.Quantize(scale=scale, dtype=dtype), [x]).output
    t = g.constant(O.softmax_table(scale), "t")
    levels = {"f32": 0, "u8": 255, "i8": 127}[result]
    g.outputs = [g.add(O.IntSoftmax(axis=-1, dtype=result, levels=levels), [q, t]).output]
    verify(g)
    return simulate(g, {"x": (rows * scale).astype(np.float32)})[g.outputs[0].name]


@pytest.mark.parametrize("dtype", ["i8", "u8"])
@pytest.mark.parametrize("scale", [0.01, 0.1, 0.5])
def test_formula_against_float_softmax(dtype, scale):
    rng = np.random.default_rng(int(scale * 100))
    n = 40
    lo = -128 if dtype == "i8" else 0
    rows = rng.integers(lo, lo + 256, (64, n)).astype(np.float64)
    rows[0] = lo  # a flat row
    rows[1, :] = lo
    rows[1, 0] = lo + 255  # one dominant element: every table entry down to 255 steps
    real = rows * scale
    ref = np.exp(real - real.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    # Each entry is within half a Q16 step of exp(.) <= 1, and the sum is >= 2**16.
    bound = n * 2.0 ** -16
    got = _softmax_of_levels(dtype, scale, rows, "f32")
    assert got.dtype == np.float32
    assert np.abs(got - ref).max() <= bound
    u8 = _softmax_of_levels(dtype, scale, rows, "u8")
    assert u8.dtype == np.uint8
    assert np.abs(u8 / 255.0 - ref).max() <= 0.5 / 255 + bound
    i8 = _softmax_of_levels(dtype, scale, rows, "i8")
    assert i8.dtype == np.int8 and i8.min() >= 0
    assert np.abs(i8 / 127.0 - ref).max() <= 0.5 / 127 + bound


def test_table_is_q16_exp():
    table = O.softmax_table(0.05)
    assert table.dtype == np.int32 and table.shape == (256,) and table[0] == 1 << 16
    np.testing.assert_allclose(table / 2.0 ** 16, np.exp(-0.05 * np.arange(256)), atol=2 ** -17)


def _classifier(readers: bool, log: bool = False, width: int = 6) -> Graph:
    rng = np.random.default_rng(0)
    g = Graph("cls")
    x = g.add_input("input", TensorType((1, 8)))
    w = g.constant(rng.normal(0, 1, (width, 8)).astype(np.float32), "w")
    b = g.constant(np.zeros(width, np.float32), "b")
    logits = g.add(O.Gemm(trans_b=True, name="fc"), [x, w, b]).output
    soft = g.add((O.LogSoftmax if log else O.Softmax)(axis=1, name="softmax"), [logits]).output
    if readers:
        w2 = g.constant(rng.normal(0, 1, (3, width)).astype(np.float32), "w2")
        b2 = g.constant(np.zeros(3, np.float32), "b2")
        soft = g.add(O.Gemm(trans_b=True, name="fc2"), [soft, w2, b2]).output
    g.outputs = [soft]
    return g


@pytest.mark.parametrize("readers", [False, True], ids=["output", "read-by-gemm"])
def test_quantized_classifier_has_no_float_softmax(readers):
    g = _classifier(readers)
    data = np.random.default_rng(1).normal(0, 1, (32, 1, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)
        qgraph, _ = quantize_graph(g, data, nbbits=8)
    verify(qgraph)
    (soft,) = qgraph.ops_of(O.IntSoftmax)
    assert not qgraph.ops_of(O.Softmax)
    assert soft.output.type.dtype is (DType.U8 if readers else DType.F32)
    if readers:
        assert soft.levels == 255 and soft.output_scale == pytest.approx(1 / 255)
    else:
        assert soft.output is qgraph.outputs[0] and not qgraph.ops_of(O.Dequantize)
    assert qgraph.constant_value(soft.inputs[1])[0] == 1 << 16
    resources: dict = {}
    text = print_graph(qgraph, resources=resources)
    again = parse_graph(text, resources=resources)
    verify(again)
    assert print_graph(again, resources={}) == print_graph(qgraph, resources={})
    feeds = {"input": data[0]}
    np.testing.assert_array_equal(simulate(again, feeds)[g.outputs[0].name],
                                  simulate(qgraph, feeds)[g.outputs[0].name])
    want = simulate(g, feeds)[g.outputs[0].name]
    got = simulate(qgraph, feeds)[g.outputs[0].name]
    assert np.abs(got - want).max() <= 0.1 * np.abs(want).max() + 0.02


def test_log_softmax_and_long_rows_stay_float():
    qgraph, _ = quantize_graph(_classifier(False, log=True),
                               np.random.default_rng(1).normal(0, 1, (8, 1, 8)).astype(np.float32))
    assert qgraph.ops_of(O.LogSoftmax) and not qgraph.ops_of(O.IntSoftmax)
    g = Graph("long")
    x = g.add_input("x", TensorType((1, MAX_ROW + 1)))
    op = g.add(O.Softmax(axis=1), [x])
    spec = make_spec(8, False, 1.0)
    assert not integer_softmax_fits(op, spec, 8)
    g2 = Graph("short")
    op2 = g2.add(O.Softmax(axis=1), [g2.add_input("x", TensorType((1, MAX_ROW)))])
    assert integer_softmax_fits(op2, spec, 8)
    # The IR refuses a row whose int32 sum could overflow.
    g3 = Graph("refused")
    q = g3.add(O.Quantize(scale=0.1, dtype="i8"), [g3.add_input("x", TensorType((1, MAX_ROW + 1)))])
    t = g3.constant(O.softmax_table(0.1), "t")
    with pytest.raises(N2D2CError, match="overflow an int32"):
        g3.add(O.IntSoftmax(axis=1), [q.output, t])
