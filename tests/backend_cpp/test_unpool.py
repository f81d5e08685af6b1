"""Max pooling with indices and max unpooling in generated C++ where onnxruntime cannot be
the reference: N2D2's summing unpool (overlapping windows add their values up) and an NHWC
producer (the unpool scatters in the input's logical order whatever its layout); the
simulator is the reference.  test_ops.py compares the ONNX forms with onnxruntime."""

from __future__ import annotations

import numpy as np

from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.c.testing import build_and_run
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.runtime import simulate

from .harness import require_compiler


def _graph() -> Graph:
    rng = np.random.default_rng(7)
    g = Graph("unpool")
    x = g.add_input("x", TensorType((2, 3, 9, 8)))
    w = g.constant(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    conv = g.add(ops.Conv2d(name="conv", pads=(1, 1, 1, 1)), [x, w]).output  # NHWC in C++
    pool = g.add(ops.MaxPool2dWithIndices(name="pool", kernel=(3, 3), strides=(2, 2)), [conv])
    summed = g.add(ops.MaxUnpool2d(name="unpool_sum", kernel=(3, 3), strides=(2, 2),
                                   output_shape=(2, 4, 9, 8), accumulate=True),
                   list(pool.outputs)).output
    last = g.add(ops.MaxUnpool2d(name="unpool_last", kernel=(3, 3), strides=(2, 2),
                                 output_shape=(2, 4, 9, 8)), list(pool.outputs)).output
    g.outputs = [summed, last, pool.outputs[0]]
    return g


def test_summing_and_overwriting_unpool_match_the_simulator(tmp_path):
    require_compiler()
    graph = _graph()
    feeds = {"x": np.random.default_rng(3).uniform(-2, 2, (2, 3, 9, 8)).astype(np.float32)}
    reference = simulate(graph, feeds)
    got = build_and_run(compile_to_dir(graph, tmp_path / "unpool", stimuli=0), feeds)
    for value in graph.outputs:
        np.testing.assert_allclose(got[value.name], reference[value.name], rtol=1e-6, atol=1e-6,
                                   err_msg=value.name)
    # Overlapping 3x3 windows at stride 2 share cells, so the two unpools really differ.
    assert not np.array_equal(reference[graph.outputs[0].name], reference[graph.outputs[1].name])
