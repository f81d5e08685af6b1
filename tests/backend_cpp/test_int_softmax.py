"""The quantized digits CNN, whose final Softmax is an int_softmax of the 8-bit logits
with a float32 result, in generated C++ and C99: its probabilities are the integer
simulator's bit for bit (no float exp anywhere), and so is every integer on the way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import ops as O
from n2d2c.quantization import quantize_graph
from n2d2c.runtime import simulate

from .harness import require_compiler
from .test_lookup import _observed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("target", ["cpp", "c"])
def test_digits_int_softmax_matches_the_simulator(tmp_path, target):
    require_compiler("c++" if target == "cpp" else "c")
    calib = np.load(FIXTURES / "digits_calib.npz")["x"]
    test = np.load(FIXTURES / "digits_test.npz")
    qgraph, _ = quantize_graph(load_onnx(FIXTURES / "digits_cnn.onnx"), calib, nbbits=8)
    assert qgraph.ops_of(O.IntSoftmax) and not qgraph.ops_of(O.Softmax, O.Dequantize)
    graph = _observed(qgraph)
    out = compile_to_dir(graph, tmp_path / target, target=target, stimuli=0)
    build(out, opt="-O1")
    x = test["x"][:8]
    for i in range(len(x)):
        feeds = {"input": x[i:i + 1]}
        got = run_inputs(out, feeds)
        want = simulate(graph, feeds)
        for v, array in zip(graph.outputs, got.values()):
            np.testing.assert_array_equal(array, want[v.name], err_msg=f"%{v.name}")
