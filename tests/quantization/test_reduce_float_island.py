"""A reduction between quantized layers stays float between dequantize and quantize
(ops without an integer kernel, one warning), and the mixed graph still lowers to C."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.quantization import QuantizationWarning, quantize_graph
from n2d2c.runtime import simulate


def _graph():
    rng = np.random.default_rng(7)
    g = Graph("reduce_island")
    x = g.add_input("input", TensorType((1, 3, 6, 6)))
    w1 = g.constant(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "c1.w")
    y = g.add(O.Conv2d(pads=(1, 1, 1, 1), name="c1"), [x, w1], ["c1"]).output
    y = g.add(O.ReduceL2(axes=(1,), name="norm"), [y], ["norm"]).output
    w2 = g.constant(rng.standard_normal((2, 1, 1, 1)).astype(np.float32), "c2.w")
    g.outputs = [g.add(O.Conv2d(name="c2"), [y, w2], ["c2"]).output]
    return g


def test_reduction_stays_float_between_integer_layers(tmp_path):
    g = _graph()
    data = np.random.default_rng(8).standard_normal((16, 3, 6, 6)).astype(np.float32)
    with pytest.warns(QuantizationWarning) as record:
        qgraph, report = quantize_graph(g, data)
    (warning,) = [str(w.message) for w in record if "no integer kernel" in str(w.message)]
    assert "norm (reduce_l2)" in warning
    kinds = [op.OP_NAME for op in qgraph.ops if not isinstance(op, O.Constant)]
    assert kinds == ["quantize", "conv2d", "rescale", "dequantize", "reduce_l2", "quantize",
                     "conv2d", "rescale", "dequantize"]
    assert report.float_ops == ["norm (reduce_l2)"]
    feeds = {"input": data[:1]}
    want = simulate(g, feeds)["c2"]
    got = simulate(qgraph, feeds)["c2"]
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    compile_to_dir(qgraph, tmp_path / "q", stimuli=0)
    assert "sqrtf(" in (tmp_path / "q" / "network.cpp").read_text()  # reduce_l2's finish
