"""The IR int_softmax in the quantized ONNX forms: integer ONNX ops (ReduceMax, Gather
of the exp table, int32 ReduceSum, int64 or float32 Div), bit for bit the simulator's
8-bit and float32 results in every form; and the digits CNN, whose Softmax is now an
int_softmax, exports with no float Softmax."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.onnx import export_model
from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.quantization import calibrate_data
from n2d2c.runtime import simulate

from .helpers import FORMS, digits_data, digits_graph, quantize, run_onnx


def _softmaxes(dtype: str) -> Graph:
    """Softmaxes of 8-bit levels: into u8 along a middle axis, into i8, into float32."""
    g = Graph("softmaxes")
    x = g.add_input("x", TensorType((2, 6, 3, 5)))
    q = g.add(O.Quantize(name="q", scale=0.0625, dtype=dtype), [x]).output
    table = g.constant(O.softmax_table(0.0625), "table")
    u8 = g.add(O.IntSoftmax(name="sm_u8", axis=1, dtype="u8", levels=255,
                            output_scale=1 / 255), [q, table]).output
    i8 = g.add(O.IntSoftmax(name="sm_i8", axis=-1, dtype="i8", levels=127,
                            output_scale=1 / 127), [q, table]).output
    f32 = g.add(O.IntSoftmax(name="sm_f32", axis=2), [q, table]).output
    g.outputs = [u8, i8, f32]
    return g


@pytest.mark.parametrize("dtype", ["i8", "u8"])
@pytest.mark.parametrize("form", FORMS, ids=[f"{a}-{b}" for a, b in FORMS])
def test_int_softmax_exports_bit_exact(form, dtype):
    g = _softmaxes(dtype)
    rng = np.random.default_rng(3)
    lo = -128 if dtype == "i8" else 0
    # Multiples of the scale: the input quantize is exact in every form.
    feeds = {"x": (rng.integers(lo, lo + 256, (2, 6, 3, 5)) * 0.0625).astype(np.float32)}
    model = export_model(g, onnx_format=form[0], qop_requant=form[1])
    kinds = {n.op_type for n in model.graph.node}
    assert "Softmax" not in kinds and {"Gather", "ReduceSum"} <= kinds
    got = run_onnx(model, feeds)
    want = simulate(g, feeds)
    for v in g.outputs:
        assert got[v.name].dtype == want[v.name].dtype, v.name
        np.testing.assert_array_equal(got[v.name], want[v.name], err_msg=v.name)


def test_digits_exports_without_a_float_softmax():
    x, y, calib = digits_data()
    qgraph = quantize(digits_graph(batch=len(x)), calibrate_data(digits_graph(), calib))
    assert qgraph.ops_of(O.IntSoftmax) and not qgraph.ops_of(O.Softmax, O.Dequantize)
    want = simulate(qgraph, {"input": x})["output"]
    model = export_model(qgraph, onnx_format="qop", qop_requant="exact")
    assert "Softmax" not in {n.op_type for n in model.graph.node}
    got = run_onnx(model, {"input": x})["output"]
    np.testing.assert_array_equal(got, want)
    assert float(np.mean(got.argmax(axis=1) == y)) > 0.95
